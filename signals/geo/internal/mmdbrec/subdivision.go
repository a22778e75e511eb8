package mmdbrec

import "github.com/oschwald/maxminddb-golang/v2/mmdbdata"

// maxSubdivisions bounds the subdivisions array (GeoIP2 has at most two).
const maxSubdivisions = 32

// FirstSubdivision decodes the GeoIP2 subdivisions array keeping only its
// first (largest) element, so that no slice is allocated per lookup.
type FirstSubdivision struct {
	Subdivision
}

// UnmarshalMaxMindDBCursor implements mmdbdata.CursorUnmarshaler.
func (f *FirstSubdivision) UnmarshalMaxMindDBCursor(cursor mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	values, err := cursor.SliceMaxSize(maxSubdivisions)
	if err != nil {
		return mmdbdata.Cursor{}, mmdbdata.NormalizeUnmarshalError[FirstSubdivision](err)
	}
	if _, err := values.Size(); err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for {
		i, elem, ok := values.Next(next)
		if !ok {
			break
		}
		if i == 0 {
			// The generated decoder (records_maxminddb.go) provides the method;
			// asserting at run time keeps this file compiling while
			// maxminddb-gen loads the package without its previous output.
			next, err = elem.UnmarshalCursor(any(&f.Subdivision).(mmdbdata.CursorUnmarshaler))
		} else {
			next, err = elem.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return values.End()
}
