package watcher

import (
	"path"
	"sort"
	"strings"
)

// aggregator collects the paths of one batch. Past max paths it keeps their folders
// instead, and past max folders it asks for a rescan: a huge burst (a git checkout, an
// unpacked archive) costs one scan of the tree, not a million queued paths.
type aggregator struct {
	max    int
	paths  map[string]struct{}
	rescan bool
	// due is set when the batch should be sent (quiet period over, deadline reached, or
	// overflow); it stays set until the consumer took the batch.
	due bool
}

func newAggregator(max int) *aggregator {
	return &aggregator{max: max, paths: make(map[string]struct{})}
}

func (a *aggregator) add(rel string) {
	if a.rescan || a.hasAncestor(rel) {
		return
	}
	a.paths[rel] = struct{}{}
	if len(a.paths) > a.max {
		a.collapse()
	}
}

// collapse replaces the deepest paths by their parent folder until the set fits, and
// gives up for a rescan when even the top-level names do not fit.
func (a *aggregator) collapse() {
	for len(a.paths) > a.max {
		deepest := 0
		for p := range a.paths {
			deepest = max(deepest, strings.Count(p, "/"))
		}
		if deepest == 0 {
			a.rescan = true
			a.paths = make(map[string]struct{})
			return
		}
		for p := range a.paths {
			if strings.Count(p, "/") == deepest {
				delete(a.paths, p)
				a.paths[path.Dir(p)] = struct{}{}
			}
		}
		for p := range a.paths {
			if a.hasAncestor(p) {
				delete(a.paths, p)
			}
		}
	}
}

// peek returns the batch without clearing it: a path below a folder in the batch is
// dropped because the folder stands for it.
func (a *aggregator) peek() Batch {
	if a.rescan {
		return Batch{Rescan: true}
	}
	list := make([]string, 0, len(a.paths))
	for p := range a.paths {
		if !a.hasAncestor(p) {
			list = append(list, p)
		}
	}
	sort.Strings(list)
	out := list
	return Batch{Paths: out}
}

func (a *aggregator) hasAncestor(p string) bool {
	for dir := path.Dir(p); dir != "."; dir = path.Dir(dir) {
		if _, ok := a.paths[dir]; ok {
			return true
		}
	}
	return false
}

func (a *aggregator) reset() {
	a.paths = make(map[string]struct{})
	a.rescan = false
	a.due = false
}
