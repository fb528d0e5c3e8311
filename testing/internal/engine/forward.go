package engine

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/appagent/appagent/testing/internal/harness"
)

// bridgeFiltered is the sysctl that, at 1, sends frames between the ports of one Linux bridge
// through iptables' FORWARD chain (br_netfilter; dockerd loads it and sets it).
const bridgeFiltered = "/proc/sys/net/bridge/bridge-nf-call-iptables"

// allowWithinBridge lets the containers of a test's podman network reach each other when the
// host filters bridged traffic. dockerd sets the FORWARD policy to DROP and turns on
// bridge-nf-call-iptables; netavark adds no FORWARD rule for an --internal network, so from
// then on its containers' packets to each other are dropped (a replica's connection to its
// primary times out). The rule accepts only traffic that enters and leaves this network's own
// bridge, carries the owner in its comment (.ci/run's leftover check reads it), and is
// deleted when the test ends, before the network (cleanups run last-registered first).
func (e *Engine) allowWithinBridge(t testing.TB, network string) {
	t.Helper()
	if e.Name != "podman" {
		return // Docker's own networks come with Docker's own rules
	}
	if v, err := os.ReadFile(bridgeFiltered); err != nil || strings.TrimSpace(string(v)) != "1" {
		return // bridged frames do not meet iptables
	}
	iptables, err := exec.LookPath("iptables")
	if err != nil {
		t.Logf("%s: %s is 1 but there is no iptables to let network %s through FORWARD; its containers may not reach each other", e.Name, bridgeFiltered, network)
		return
	}
	dev := e.Must(t, "network", "inspect", "--format", "{{.NetworkInterface}}", network)
	if dev == "" {
		t.Fatalf("%s: network %s has no bridge interface in `network inspect`", e.Name, network)
	}
	rule := []string{"FORWARD", "-i", dev, "-o", dev, "-m", "comment", "--comment", harness.LabelOwner + "=" + harness.Owner(), "-j", "ACCEPT"}
	if out, err := exec.Command(iptables, append([]string{"-w", "5", "-I"}, rule...)...).CombinedOutput(); err != nil {
		t.Fatalf("%s: let network %s (%s) through FORWARD: iptables -I %s: %v\n%s", e.Name, network, dev, strings.Join(rule, " "), err, out)
	}
	t.Cleanup(func() {
		// -D of the same spec deletes one copy: ours, even if another test of this process
		// made the same rule for a later network on the same bridge name.
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := exec.Command(iptables, append([]string{"-w", "5", "-D"}, rule...)...).CombinedOutput()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: cleanup: iptables -D %s: %v\n%s", e.Name, strings.Join(rule, " "), err, out)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
