package render

import "bytes"

// trunkPiece is one trunk's part of a rendered file: the output of its
// "trunk" block (without the number block: a uacreg row id shifts when a
// trunk before it comes or goes, which changes nothing for that trunk).
type trunkPiece struct {
	code string
	text []byte
}

// diffPieces compares the pieces of the live file with those of the new
// output, both sorted by code, and returns the action of each trunk the
// change touches, sorted by code. A trunk with an empty piece (a template
// that writes nothing for it, like uacreg for a trunk without reg: 1) is
// not in the file: its piece appearing is an addition, disappearing a
// removal.
func diffPieces(old, next []trunkPiece) []trunkAction {
	var d []trunkAction
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		if i < len(old) && len(old[i].text) == 0 {
			i++
			continue
		}
		if j < len(next) && len(next[j].text) == 0 {
			j++
			continue
		}
		switch {
		case j == len(next) || (i < len(old) && old[i].code < next[j].code):
			d = append(d, trunkAction{code: old[i].code, kind: ActionRemove})
			i++
		case i == len(old) || next[j].code < old[i].code:
			d = append(d, trunkAction{code: next[j].code, kind: ActionAdd})
			j++
		default:
			if !bytes.Equal(old[i].text, next[j].text) {
				d = append(d, trunkAction{code: next[j].code, kind: ActionChange})
			}
			i, j = i+1, j+1
		}
	}
	return d
}
