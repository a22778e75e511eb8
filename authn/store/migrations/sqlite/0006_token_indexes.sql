-- Numbered 0006, after 0005: a database migrated by a build that shipped
-- 0005 first gets this one next, so versions stay in the order every
-- database applies them (the change was drafted as 0002, in parallel).
-- Token indexes that never lead with kind (issue 17, item 4). With kind
-- first, a statement constrained by kind and an unindexed or NULL column
-- could be planned as a range over every pending token of that kind, and
-- requests slowed down as unused tokens piled up. Hash and flow id are
-- selective; kind follows them.
DROP INDEX one_time_tokens_hash;
CREATE INDEX one_time_tokens_hash ON one_time_tokens (hash, kind);
DROP INDEX one_time_tokens_flow;
CREATE INDEX one_time_tokens_flow ON one_time_tokens (flow_id, kind) WHERE flow_id IS NOT NULL;
-- The sweeper deletes spent and expired tokens older than its grace period
-- (created_at < ?); without an index on created_at it read the whole table
-- inside its write transaction, holding SQLite's one write lock as long.
CREATE INDEX one_time_tokens_created ON one_time_tokens (created_at);
