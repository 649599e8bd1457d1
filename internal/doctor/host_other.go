//go:build !linux

package doctor

func linuxOnly(name string, neededBy ...string) Check {
	return Check{Name: name, Status: Fail, Detail: "netlab's backends need Linux", NeededBy: neededBy}
}

func checkCapabilities() Check { return linuxOnly("capabilities", Sandbox) }
func checkBPF() []Check        { return []Check{linuxOnly("bpf program", Sandbox, Kind)} }
func checkCgroups() Check      { return linuxOnly("cgroups", Kind) }
func checkDisk() Check         { return linuxOnly("disk", Kind) }
