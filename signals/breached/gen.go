package breached

//go:generate go run ./internal/gen
