//! What every keyset-paged list of a service shares.

/// Rows to skip: none when continuing from a cursor, else the pages before `page`.
pub(crate) fn offset(from_cursor: bool, page: u64, page_size: u64) -> u64 {
    if from_cursor {
        0
    } else {
        (page.max(1) - 1) * page_size
    }
}

/// Cuts a page fetched one row long to `page_size` rows and tells whether there was more.
pub(crate) fn cut<T>(items: &mut Vec<T>, page_size: u64) -> bool {
    let more = items.len() as u64 > page_size;
    items.truncate(page_size as usize);
    more
}
