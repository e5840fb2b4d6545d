-- Sign-in throttling per client address, whatever the emails tried.
CREATE INDEX login_failures_ip ON login_failures (ip, attempted_at);
