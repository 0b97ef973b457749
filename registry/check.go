package registry

// Checker judges provider files one after the other as the daemon loads a
// directory: each file on its own (Parse), then its code and id against
// the files before it, the first file by name winning. A losing file is
// not in force, so it claims neither its code nor its id. trunkd validate
// and the git hook use it, so they report what the daemon would.
type Checker struct {
	codes map[string]string // code → file that holds it
	ids   map[string]string // id → file that holds it
}

// NewChecker returns a Checker that has seen no file.
func NewChecker() *Checker {
	return &Checker{codes: map[string]string{}, ids: map[string]string{}}
}

// Check parses one file (name is used in the problems) and returns its
// problems, sorted by line; a duplicate code or id is located at the line
// of the code or id key.
func (c *Checker) Check(name string, data []byte) Problems {
	pr, probs := parse(name, data)
	if len(probs) > 0 {
		return probs
	}
	p := pr.p
	if p.ID == "" {
		p.ID = DeriveID(p.Code)
	}
	if other, dup := c.codes[p.Code]; dup {
		return Problems{{File: name, Line: pr.lineOf("code"), Field: "code",
			Msg: "duplicate: " + quote(p.Code) + " is already defined in " + other}}
	}
	if other, dup := c.ids[p.ID]; dup {
		return Problems{{File: name, Line: pr.idLine(), Field: "id",
			Msg: "duplicate: " + p.ID + " is already used in " + other}}
	}
	c.codes[p.Code], c.ids[p.ID] = name, name
	return nil
}
