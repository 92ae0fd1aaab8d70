package main

import (
	"context"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// describeFlagsKey asks runEmulator for its flag set instead of running, so
// its flags are defined in one place and still reach -h and completion.
type describeFlagsKey struct{}

func newEmulatorCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "emulator",
		Short:   "serve the three upstream APIs on loopback (tests, demo)",
		Long:    "emulator serves the Confluent, CSP and Azure APIs invitesync uses from one in-memory store.\nThe first stdout line is \"listening on http://HOST:PORT\".",
		GroupID: cmdGroupTools,
		Example: "  invitesync emulator --listen 127.0.0.1:8787 --seed samples/emulator-seed.yaml\n" +
			"  invitesync emulator --listen 127.0.0.1:0 --seed recorded.yaml   # replay a 'check --record' sample",
		Args: noArgs,
		RunE: c.action(func(ctx context.Context, cmd *cobra.Command, args []string) (int, error) {
			return runEmulator(ctx, reparseArgs(cmd.Flags(), args), c.stdout, c.stderr)
		}),
	}
	ctx := context.WithValue(context.Background(), describeFlagsKey{}, func(fs *pflag.FlagSet) {
		cmd.Flags().AddFlagSet(fs)
	})
	_, _ = runEmulator(ctx, nil, nil, nil)
	registerCompletions(cmd)
	return cmd
}
