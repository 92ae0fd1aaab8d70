package main

import "github.com/invitesync/invitesync/sources"

// setColumns applies --columns (or the columns: config key) to opts.
func setColumns(opts *sources.ReadOptions, spec string) error {
	if spec == "" {
		return nil
	}
	return usageErrorf("--columns: this build's roster reader cannot map headers yet")
}
