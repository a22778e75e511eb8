// Package userimport reads the migration format of issue 20: JSON
// lines, one user each, exported from another identity system (Auth0,
// Keycloak, Firebase, a home-grown database; docs/migration.md) with the
// user's foreign password hash, verified status, creation date and TOTP
// secret. ParseLine checks one line completely and strictly, so that a
// bad line is reported with its reason and never half-written; it is
// fuzzed, since the file comes from outside.
//
// It does not write anything: authn's user administration imports the
// records (Admin.ImportUsers), riskctl users import batches a file to it.
package userimport
