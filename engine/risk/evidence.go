package risk

// Evidence is one feature value a matching rule read.
type Evidence struct {
	Field string `json:"field"`
	Value any    `json:"value"`
}
