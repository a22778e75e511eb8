-- Issue 20: the PostgreSQL store indexes profile attributes for the
-- administrators' search by attribute; SQLite has no index over every key
-- of a JSON object and scans the profiles (docs/admin.md). This migration
-- keeps the two stores' version lists the same.
SELECT 1;
