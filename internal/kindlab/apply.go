package kindlab

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/netlab/netlab/internal/world"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// applySystem creates or updates the node agent's objects.
func applySystem(ctx context.Context, c kubernetes.Interface, o SystemObjects) error {
	if _, err := c.CoreV1().Namespaces().Create(ctx, o.Namespace, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("namespace %s: %w", o.Namespace.Name, err)
	}
	if _, err := c.CoreV1().ServiceAccounts(SystemNamespace).Create(ctx, o.ServiceAccount, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("serviceaccount %s/%s: %w", SystemNamespace, o.ServiceAccount.Name, err)
	}
	rbac := c.RbacV1()
	if old, err := rbac.ClusterRoles().Get(ctx, o.ClusterRole.Name, metav1.GetOptions{}); err == nil {
		old.Rules = o.ClusterRole.Rules
		if _, err := rbac.ClusterRoles().Update(ctx, old, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("clusterrole %s: %w", old.Name, err)
		}
	} else if _, err := rbac.ClusterRoles().Create(ctx, o.ClusterRole, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("clusterrole %s: %w", o.ClusterRole.Name, err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, o.ClusterRoleBinding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("clusterrolebinding %s: %w", o.ClusterRoleBinding.Name, err)
	}
	ds := c.AppsV1().DaemonSets(SystemNamespace)
	if old, err := ds.Get(ctx, o.DaemonSet.Name, metav1.GetOptions{}); err == nil {
		old.Spec.Template = o.DaemonSet.Spec.Template
		old.Spec.UpdateStrategy = o.DaemonSet.Spec.UpdateStrategy
		if _, err := ds.Update(ctx, old, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("daemonset %s/%s: %w", SystemNamespace, old.Name, err)
		}
	} else if _, err := ds.Create(ctx, o.DaemonSet, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("daemonset %s/%s: %w", SystemNamespace, o.DaemonSet.Name, err)
	}
	return nil
}

// waitDaemonSet waits until the node agent runs, up to date and Ready, on
// every node.
func waitDaemonSet(ctx context.Context, c kubernetes.Interface) error {
	return poll(ctx, 500*time.Millisecond, "waiting for the node agent DaemonSet", func() error {
		ds, err := c.AppsV1().DaemonSets(SystemNamespace).Get(ctx, NodeAgentName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s := ds.Status
		if s.ObservedGeneration < ds.Generation || s.DesiredNumberScheduled == 0 ||
			s.UpdatedNumberScheduled != s.DesiredNumberScheduled || s.NumberReady != s.DesiredNumberScheduled ||
			s.NumberAvailable != s.DesiredNumberScheduled {
			return fmt.Errorf("%d of %d node agents ready and up to date", min(s.NumberReady, s.UpdatedNumberScheduled), s.DesiredNumberScheduled)
		}
		return nil
	})
}

// describeNodeAgents says what the node agents are doing, for errors.
func describeNodeAgents(ctx context.Context, c kubernetes.Interface) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pl, err := c.CoreV1().Pods(SystemNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, p := range pl.Items {
		fmt.Fprintf(&b, "pod %s on %s: %s (%s)\n", p.Name, p.Spec.NodeName, p.Status.Phase, podWaitReason(&p))
		tail := int64(15)
		raw, err := c.CoreV1().Pods(SystemNamespace).GetLogs(p.Name, &corev1.PodLogOptions{TailLines: &tail}).DoRaw(ctx)
		if err == nil {
			for _, l := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	return b.String()
}

// applyScenario creates what is missing: namespaces (labels merged into
// existing ones), pods, services and policies. Existing pods and services
// are kept, so a second `up` changes nothing that runs.
func applyScenario(ctx context.Context, c kubernetes.Interface, o ScenarioObjects) error {
	for _, ns := range o.Namespaces {
		old, err := c.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if _, err := c.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				return fmt.Errorf("namespace %s: %w", ns.Name, err)
			}
		case err != nil:
			return fmt.Errorf("namespace %s: %w", ns.Name, err)
		default:
			if old.Labels == nil {
				old.Labels = map[string]string{}
			}
			before := maps.Clone(old.Labels)
			maps.Copy(old.Labels, ns.Labels)
			if !maps.Equal(before, old.Labels) {
				if _, err := c.CoreV1().Namespaces().Update(ctx, old, metav1.UpdateOptions{}); err != nil {
					return fmt.Errorf("namespace %s: labels: %w", ns.Name, err)
				}
			}
		}
	}
	// ServiceAccounts are made by a controller; pods cannot be created
	// before their namespace has its default one.
	for _, ns := range o.Namespaces {
		err := poll(ctx, 200*time.Millisecond, "waiting for serviceaccount default in "+ns.Name, func() error {
			_, err := c.CoreV1().ServiceAccounts(ns.Name).Get(ctx, "default", metav1.GetOptions{})
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, p := range o.Pods {
		if _, err := c.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	for _, s := range o.Services {
		// The cluster's own (kube-dns) and ones from an earlier up stay.
		if _, err := c.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{}); err == nil {
			continue
		}
		if _, err := c.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("service %s/%s: %w", s.Namespace, s.Name, err)
		}
	}
	for _, np := range o.Policies {
		if err := applyPolicy(ctx, c, np); err != nil {
			return err
		}
	}
	return nil
}

// applyPolicy creates or replaces one policy, as `kubectl apply` would.
func applyPolicy(ctx context.Context, c kubernetes.Interface, np *networkingv1.NetworkPolicy) error {
	api := c.NetworkingV1().NetworkPolicies(np.Namespace)
	want := np.DeepCopy()
	want.ResourceVersion = ""
	old, err := api.Get(ctx, np.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
	case err == nil:
		old.Spec = want.Spec
		old.Labels = want.Labels
		_, err = api.Update(ctx, old, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("networkpolicy %s/%s: %w", np.Namespace, np.Name, err)
	}
	return nil
}

// ApplyPolicies creates or replaces policies in the lab's cluster and
// waits until every node agent enforces them.
func ApplyPolicies(ctx context.Context, name string, pols []*networkingv1.NetworkPolicy) error {
	c, _, err := Client(name)
	if err != nil {
		return err
	}
	if err := applyPolicies(ctx, c, pols); err != nil {
		return err
	}
	_, err = WaitEnforced(ctx, name, 10*time.Second)
	return err
}

// applyPolicies applies pols through c, none of them unless every
// policy's namespace exists (refused in the API server's own words,
// `namespaces "x" not found`, before anything is created).
func applyPolicies(ctx context.Context, c kubernetes.Interface, pols []*networkingv1.NetworkPolicy) error {
	for _, np := range pols {
		if _, err := c.CoreV1().Namespaces().Get(ctx, np.Namespace, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return fmt.Errorf("networkpolicy %s/%s: namespaces %q not found", np.Namespace, np.Name, np.Namespace)
		}
	}
	for _, np := range pols {
		if err := applyPolicy(ctx, c, np); err != nil {
			return err
		}
	}
	return nil
}

// DeletePolicies deletes policies ("ns/name"); every one must exist, or
// nothing is deleted (like the sandbox, and like kubectl's NotFound).
func DeletePolicies(ctx context.Context, name string, keys []string) error {
	c, _, err := Client(name)
	if err != nil {
		return err
	}
	for _, k := range keys {
		ns, n, _ := strings.Cut(k, "/")
		if _, err := c.NetworkingV1().NetworkPolicies(ns).Get(ctx, n, metav1.GetOptions{}); err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("networkpolicy %q not found", k)
			}
			return err
		}
	}
	for _, k := range keys {
		ns, n, _ := strings.Cut(k, "/")
		if err := c.NetworkingV1().NetworkPolicies(ns).Delete(ctx, n, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("networkpolicy %s: %w", k, err)
		}
	}
	_, err = WaitEnforced(ctx, name, 10*time.Second)
	return err
}

// Label changes labels of a pod ("ns/name") or, with namespace, of a
// namespace, with kubectl's syntax (KEY=VALUE sets, KEY- removes; changing
// a value needs overwrite), then waits until the change is enforced.
func Label(ctx context.Context, name, target string, namespace bool, changes []string, overwrite bool) error {
	c, _, err := Client(name)
	if err != nil {
		return err
	}
	var labels map[string]string
	var update func(map[string]string) error
	if namespace {
		ns, err := c.CoreV1().Namespaces().Get(ctx, target, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("namespace %q not found", target)
			}
			return err
		}
		labels = ns.Labels
		update = func(l map[string]string) error {
			ns.Labels = l
			_, err := c.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
			return err
		}
	} else {
		pns, pname, _ := strings.Cut(target, "/")
		p, err := c.CoreV1().Pods(pns).Get(ctx, pname, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return fmt.Errorf("pod %q not found", target)
			}
			return err
		}
		labels = p.Labels
		update = func(l map[string]string) error {
			p.Labels = l
			_, err := c.CoreV1().Pods(pns).Update(ctx, p, metav1.UpdateOptions{})
			return err
		}
	}
	if labels == nil {
		labels = map[string]string{}
	}
	if err := world.ApplyLabelChanges(labels, changes, overwrite, namespace, target); err != nil {
		return err
	}
	if err := update(labels); err != nil {
		return fmt.Errorf("labeling %s: %w", target, err)
	}
	_, err = WaitEnforced(ctx, name, 10*time.Second)
	return err
}

// SetEnforcement switches a running lab between enforcing its policies
// (EnforceEBPF) and ignoring them (EnforceNone), keeping the policies: the
// node agent DaemonSet is updated and rolls out (pinned maps keep the
// dataplane as it was during the restart), and the call returns once the
// new mode is in force on every node.
func SetEnforcement(ctx context.Context, name, mode string) error {
	if mode != EnforceEBPF && mode != EnforceNone {
		return fmt.Errorf("unknown enforcer %q: want %s or %s", mode, EnforceEBPF, EnforceNone)
	}
	st, err := Load(name)
	if err != nil {
		return err
	}
	if st.Enforcement == mode {
		return nil
	}
	c, _, err := Client(name)
	if err != nil {
		return err
	}
	want := NodeAgentManifests(st.Image, mode).DaemonSet.Spec.Template.Spec.Containers[0].Command
	ds, err := c.AppsV1().DaemonSets(SystemNamespace).Get(ctx, NodeAgentName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("node agent DaemonSet: %w", err)
	}
	ds.Spec.Template.Spec.Containers[0].Command = want
	if _, err := c.AppsV1().DaemonSets(SystemNamespace).Update(ctx, ds, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("switching the enforcer to %s: %w", mode, err)
	}
	wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	if err := waitDaemonSet(wctx, c); err != nil {
		return fmt.Errorf("switching the enforcer to %s: %w\n%s", mode, err, describeNodeAgents(ctx, c))
	}
	st.Enforcement = mode
	if err := st.save(); err != nil {
		return err
	}
	_, err = WaitEnforced(ctx, name, 2*time.Minute)
	return err
}
