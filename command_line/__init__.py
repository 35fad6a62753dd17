"""How every ``footfall`` command speaks to an operator: one grammar (shared options, list
values, exit codes), logging that reads well in a terminal and in journald, and tables that
never cut a number. Imports no other footfall package; docs/cli.md is the written grammar."""
