package client

import "strings"

// Path schemes the API understands (API document §7).
const (
	SchemeDisk  = "disk:"
	SchemeTrash = "trash:"
	SchemeApp   = "app:"
)

// Root is the root folder of the Disk.
const Root = "disk:/"

// TrashRoot is the root of the trash.
const TrashRoot = "trash:/"

// hasScheme reports whether p starts with one of the API's schemes. Only the known
// schemes count: "a:b" is a name with a colon, not a scheme.
func hasScheme(p string) bool {
	return strings.HasPrefix(p, SchemeDisk) || strings.HasPrefix(p, SchemeTrash) ||
		strings.HasPrefix(p, SchemeApp)
}

// Abs returns p as an absolute path with a scheme: "disk:/" is put in front of a path
// without one ("a/b" and "/a/b" both become "disk:/a/b"), because the server refuses a
// scheme-less name containing ':' (§7). The path is not cleaned: names are kept byte for
// byte.
func Abs(p string) string {
	if hasScheme(p) {
		return p
	}
	return Root + strings.TrimPrefix(p, "/")
}

// Join appends the slash-separated relative path rel to the folder root. It does not
// clean "." or ".." (those names cannot exist on the Disk, and callers validate names),
// so a name is never rewritten.
func Join(root, rel string) string {
	root = Abs(root)
	rel = strings.TrimLeft(rel, "/")
	if rel == "" {
		return root
	}
	if strings.HasSuffix(root, "/") {
		return root + rel
	}
	return root + "/" + rel
}

// Rel returns p relative to root (without a leading slash), and false when p is not root
// itself or below it. Rel(root, root) is "".
func Rel(root, p string) (string, bool) {
	root = strings.TrimSuffix(Abs(root), "/")
	p = strings.TrimSuffix(Abs(p), "/")
	if p == root {
		return "", true
	}
	rel, ok := strings.CutPrefix(p, root+"/")
	if !ok || rel == "" {
		return "", false
	}
	return rel, true
}

// Parent returns the folder containing p, and false for a root ("disk:/", "trash:/").
func Parent(p string) (string, bool) {
	p = strings.TrimSuffix(Abs(p), "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 { // "disk:" is what is left of a root
		return "", false
	}
	dir := p[:i]
	if strings.HasSuffix(dir, ":") {
		return dir + "/", true
	}
	return dir, true
}

// isRoot reports whether p names a root folder ("disk:/", "trash:/", "app:/").
func isRoot(p string) bool {
	p = Abs(p)
	return strings.HasSuffix(p, ":/") && strings.Count(p, "/") == 1
}
