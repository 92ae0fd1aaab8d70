package sources

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
	"gopkg.in/yaml.v3"
)

// WriteFile writes members as a roster in the format of path's extension
// (.csv, .xlsx, .yaml/.yml), atomically (a temp file renamed into place).
// What it writes reads back through ReadFile as the same members. A value
// the roster format cannot hold (a list item with ';', a service role link
// with '=') is an error, never silently changed.
func WriteFile(path string, members []Member) error {
	format, err := formatOf(path, "")
	if err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	for i := range members {
		if err := representable(&members[i]); err != nil {
			return fmt.Errorf("write roster %s: member %d (%s): %w", path, i+1, members[i].Email, err)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write roster: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	switch format {
	case formatCSV:
		err = writeCSV(tmp, members)
	case formatXLSX:
		err = writeXLSX(tmp, members)
	case formatYAML:
		err = writeYAML(tmp, members)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("write roster %s: %w", path, err)
	}
	return nil
}

func representable(m *Member) error {
	for _, list := range [][]string{m.OrgRoles, m.Groups} {
		for _, s := range list {
			if strings.Contains(s, ";") || strings.TrimSpace(s) != s || s == "" {
				return fmt.Errorf("list item %q cannot be written to a roster (empty, surrounding spaces or ';')", s)
			}
		}
	}
	for _, sr := range m.ServiceRoles {
		if strings.Contains(sr.Link, "=") || strings.Contains(sr.String(), ";") || sr.Link == "" || sr.Role == "" {
			return fmt.Errorf("service role %q cannot be written to a roster (it must be LINK=ROLE with no '=' in LINK and no ';')", sr.String())
		}
	}
	return nil
}

// cells renders a member as the text of each column, in Columns order.
func cells(m *Member) [numColumns]string {
	var c [numColumns]string
	c[colEmail] = m.Email
	c[colAuthType] = m.AuthType
	c[colOrgRoles] = strings.Join(m.OrgRoles, ";")
	c[colServiceRoles] = strings.Join(serviceRoleStrings(m.ServiceRoles), ";")
	c[colGroups] = strings.Join(m.Groups, ";")
	if m.ExpiresInDays != 0 {
		c[colExpires] = strconv.Itoa(m.ExpiresInDays)
	}
	return c
}

func serviceRoleStrings(srs []ServiceRole) []string {
	out := make([]string, len(srs))
	for i, sr := range srs {
		out[i] = sr.String()
	}
	return out
}

func writeCSV(w io.Writer, members []Member) error {
	bw := bufio.NewWriter(w)
	cw := csv.NewWriter(bw)
	if err := cw.Write(Columns); err != nil {
		return err
	}
	for i := range members {
		c := cells(&members[i])
		if err := cw.Write(c[:]); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return bw.Flush()
}

// writeXLSX streams rows with excelize's StreamWriter, so writing a large
// roster does not hold a worksheet model in memory.
func writeXLSX(w io.Writer, members []Member) (err error) {
	f := excelize.NewFile()
	defer func() { err = errors.Join(err, f.Close()) }()
	const sheet = "Sheet1" // NewFile's sheet: cells read back as Sheet1!C7
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	header := make([]any, len(Columns))
	for i, c := range Columns {
		header[i] = c
	}
	if err := sw.SetRow("A1", header); err != nil {
		return err
	}
	row := make([]any, numColumns)
	for i := range members {
		c := cells(&members[i])
		for j, s := range c {
			row[j] = s
			if s == "" {
				row[j] = nil // no cell at all, as a spreadsheet application writes it
			}
		}
		if d := members[i].ExpiresInDays; d != 0 {
			row[colExpires] = d // a number, as a person would type it
		}
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// yamlMember is a member as the YAML roster writes it: keys in Columns
// order, lists as flow sequences, service roles as LINK=ROLE text.
type yamlMember struct {
	Email         string   `yaml:"email"`
	AuthType      string   `yaml:"auth_type,omitempty"`
	OrgRoles      []string `yaml:"org_roles,omitempty,flow"`
	ServiceRoles  []string `yaml:"service_roles,omitempty"`
	Groups        []string `yaml:"groups,omitempty,flow"`
	ExpiresInDays int      `yaml:"expires_in_days,omitempty"`
}

func writeYAML(w io.Writer, members []Member) error {
	out := struct {
		Members []yamlMember `yaml:"members"`
	}{Members: make([]yamlMember, len(members))}
	for i, m := range members {
		out.Members[i] = yamlMember{
			Email: m.Email, AuthType: m.AuthType, OrgRoles: m.OrgRoles,
			ServiceRoles: serviceRoleStrings(m.ServiceRoles), Groups: m.Groups, ExpiresInDays: m.ExpiresInDays,
		}
		if len(m.ServiceRoles) == 0 {
			out.Members[i].ServiceRoles = nil
		}
	}
	bw := bufio.NewWriter(w)
	enc := yaml.NewEncoder(bw)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	return bw.Flush()
}
