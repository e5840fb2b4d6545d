-- Searches no longer count a text's matches in the database to choose how to read a list: the
-- choice is made from a sample kept between writes. The function that counted them goes.
DROP FUNCTION IF EXISTS rapport_text_count(text, text, bigint);
