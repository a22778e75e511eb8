-- Issue 20: administrators search accounts by a custom attribute's value
-- (authn.UserQuery.Attribute), as containment (attributes @> '{"tier":"gold"}'),
-- which this index serves. SQLite scans instead (docs/admin.md).
CREATE INDEX profiles_attributes ON profiles USING gin (attributes jsonb_path_ops);
