-- Issue 20: the administrators' user search pages through accounts in
-- creation order, (created_at, id) being the page key.
CREATE INDEX users_created ON users (created_at, id);
