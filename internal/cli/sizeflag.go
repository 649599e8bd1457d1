package cli

import (
	"fmt"

	"github.com/netlab/netlab/internal/course"
	"k8s.io/apimachinery/pkg/api/resource"
)

// sizeFlag is a byte count given as a Kubernetes quantity (1Mi, 512Ki,
// 2M, 100000), like a container's memory limit.
type sizeFlag struct{ n *int64 }

func (f sizeFlag) String() string {
	if f.n == nil {
		return ""
	}
	return course.FormatSize(*f.n)
}

func (f sizeFlag) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return fmt.Errorf("want a size such as 1Mi, 512Ki or 100000: %w", err)
	}
	n, ok := q.AsInt64()
	if !ok || n <= 0 {
		return fmt.Errorf("want a positive whole number of bytes, not %s", s)
	}
	*f.n = n
	return nil
}

func (sizeFlag) Type() string { return "size" }
