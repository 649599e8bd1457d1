package nodeimage

// lowerPriority does nothing on Windows: node images are built on Linux.
func lowerPriority(int) {}
