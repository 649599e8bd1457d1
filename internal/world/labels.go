package world

import (
	"fmt"
	"strings"

	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ApplyLabelChanges changes labels in place with kubectl's syntax: "k=v"
// sets, "k-" removes. Without overwrite, changing an existing value is an
// error, as in kubectl. For a namespace (target is its name) the
// NamespaceNameLabel can be neither removed nor changed. On error labels
// may be partly changed: callers work on a copy.
func ApplyLabelChanges(labels map[string]string, changes []string, overwrite, namespace bool, target string) error {
	for _, c := range changes {
		if k, ok := strings.CutSuffix(c, "-"); ok && !strings.Contains(c, "=") {
			if namespace && k == NamespaceNameLabel {
				return fmt.Errorf("label %s is set by the API server and cannot be removed", k)
			}
			delete(labels, k)
			continue
		}
		k, v, ok := strings.Cut(c, "=")
		if !ok {
			return fmt.Errorf("invalid label change %q: want key=value or key-", c)
		}
		if errs := metavalidation.ValidateLabels(map[string]string{k: v}, field.NewPath("metadata", "labels")); len(errs) > 0 {
			return errs.ToAggregate()
		}
		if old, exists := labels[k]; exists && old != v && !overwrite {
			return fmt.Errorf("'%s' already has a value (%s), and --overwrite is false", k, old)
		}
		if namespace && k == NamespaceNameLabel && v != target {
			return fmt.Errorf("label %s must equal the namespace name", k)
		}
		labels[k] = v
	}
	return nil
}
