package report

import (
	"bufio"
	"encoding/json"
	"io"
)

// writeJSON writes report.json, indented: people read it in reviews too.
func writeJSON(w io.Writer, d *Document) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "->" stays readable; JSON needs no HTML escaping
	if err := enc.Encode(d); err != nil {
		return err
	}
	return bw.Flush()
}
