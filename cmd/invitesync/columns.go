package main

import "github.com/invitesync/invitesync/sources"

// setColumns applies --columns (or the columns: config key) to opts: the
// headers an HR export uses for invitesync's columns, so the file is read
// as it is. A bad mapping is a flag error (exit 3).
func setColumns(opts *sources.ReadOptions, spec string) error {
	if spec == "" {
		return nil
	}
	cols, err := sources.ParseColumns(spec)
	if err != nil {
		return usageErrorf("--columns: %v", err)
	}
	opts.Columns = cols
	return nil
}
