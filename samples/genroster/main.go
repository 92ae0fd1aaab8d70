// Command genroster writes the sample rosters (samples/roster.csv, .xlsx and
// .yaml) from the one list of people below, so the three always agree.
// Run it from the repository root: go run ./samples/genroster
//
// The emulator seed (samples/emulator-seed.yaml) holds invitations for some
// of these people; keep ada's attributes equal to hers there, so the demo
// plan leaves her alone on every provider.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/invitesync/invitesync/sources"
)

// vmcUser is a CSP service role on VMware Cloud on AWS.
var vmcUser = sources.ServiceRole{
	Link: "/csp/gateway/slc/api/definitions/external/ybUdoTC05kYFC9ZG560kpsn0I8M_",
	Role: "vmc-user:full",
}

// people is the sample roster: LOCAL and SSO (and empty: the upstream's
// default), organization and service roles, groups, and expiry in days.
var people = []sources.Member{
	{Email: "ada@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-eng"}},
	{Email: "bob@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-eng", "g-ops"}, ExpiresInDays: 14},
	{Email: "cy@example.com", AuthType: sources.AuthLocal, OrgRoles: []string{"org_member"}, ServiceRoles: []sources.ServiceRole{vmcUser}, Groups: []string{"g-data"}, ExpiresInDays: 30},
	{Email: "dee@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_owner"}},
	{Email: "eve@example.com", AuthType: sources.AuthLocal, OrgRoles: []string{"org_member"}, ServiceRoles: []sources.ServiceRole{vmcUser}, Groups: []string{"g-ops"}, ExpiresInDays: 7},
	{Email: "fay@example.com", OrgRoles: []string{"org_member"}},
	{Email: "gus@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-eng", "g-data"}},
	{Email: "hal@example.com", AuthType: sources.AuthLocal, OrgRoles: []string{"org_member"}, ServiceRoles: []sources.ServiceRole{vmcUser}, ExpiresInDays: 30},
	{Email: "ivy@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-data"}},
	{Email: "jon@example.com"},
	{Email: "kim@example.com", AuthType: sources.AuthSSO, OrgRoles: []string{"org_member"}, Groups: []string{"g-ops"}, ExpiresInDays: 7},
	{Email: "lou@example.com", AuthType: sources.AuthLocal, OrgRoles: []string{"org_member"}, Groups: []string{"g-eng", "g-ops", "g-data"}, ExpiresInDays: 14},
}

func main() {
	dir := flag.String("dir", "samples", "directory to write roster.csv, roster.xlsx and roster.yaml into")
	flag.Parse()
	if err := write(*dir); err != nil {
		fmt.Fprintln(os.Stderr, "genroster:", err)
		os.Exit(1)
	}
}

var names = []string{"roster.csv", "roster.xlsx", "roster.yaml"}

func write(dir string) error {
	for _, name := range names {
		path := filepath.Join(dir, name)
		if err := sources.WriteFile(path, people); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	return nil
}
