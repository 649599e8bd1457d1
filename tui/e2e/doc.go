// Package e2e runs the real netlab binary's TUI in tmux, as a learner
// would: it starts a lab from the picker, applies a wrong policy from
// "another terminal", checks (the check must fail), replaces it with the
// lab's reference solution, checks again (it must pass), and logs every
// screen it saw.
//
// It needs the built binary, tmux and root (the sandbox backend):
//
//	go build -o bin/netlab ./cmd/netlab
//	sudo NETLAB_E2E_BIN=$PWD/bin/netlab go test -tags e2e -v ./tui/e2e/
//
// Optional: NETLAB_E2E_LAB (default: the first lab whose first task has
// something to change), NETLAB_E2E_OUT (a directory to keep the captured
// screens in). With CI=true anything that keeps it from running is a
// failure, not a skip.
package e2e
