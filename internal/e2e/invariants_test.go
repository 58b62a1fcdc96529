package e2e

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Sides is what the model checker looks at between passes: both trees and the contents of
// both trashes (the local .yasyncd/trash/ and the Disk trash).
type Sides struct {
	L, R           Tree
	LTrash, RTrash map[string]bool
}

func (s Sides) side(name string) Tree {
	if name == "L" {
		return s.L
	}
	return s.R
}

// trash returns the trash contents of side "L" or "R".
func (s Sides) trash(name string) map[string]bool {
	if name == "L" {
		return s.LTrash
	}
	return s.RTrash
}

// everywhere returns every content held by s: both trees and both trashes.
func (s Sides) everywhere() map[string]bool {
	out := map[string]bool{}
	for _, set := range []map[string]bool{s.L.Contents(), s.R.Contents(), s.LTrash, s.RTrash} {
		for h := range set {
			out[h] = true
		}
	}
	return out
}

// Model is the content-tracking model of a synced pair. It does not predict what the engine
// does; it records what the two sides last agreed on (its own view of the base B) and checks
// that each pass only did what sync-semantics allows.
//
// Its B is the harness's observation: a path is in B once both sides held the same thing
// there after a pass. The engine writes its own B only when both sides agree, so the two
// differ only where the engine saw an agreement the harness did not (inside a pass). The
// checks use B only to tell an unsynced edit (which must survive on its side) from a
// synced version (which the other side's edit may replace). Where the harness cannot know
// what the engine saw — a rename that a cut-short pass did not record, a file edited while
// a pass ran — Ghosts and MaybeSynced widen the synced versions for that content or path
// only; every other content that differs from B is held to invariant 2.
type Model struct {
	B Tree
	// Ghosts are base entries whose path is gone from both sides (a delete, or a rename
	// that a pass cut short has not recorded yet): their content is still a synced
	// version wherever a rename took it.
	Ghosts Tree
	// MaybeSynced are versions the engine may have recorded as synced at a path although
	// the model never saw both sides agree on them: both sides' versions of a file the
	// user edited while a pass ran (the engine may have copied one to the other side just
	// before the edit). They count as synced until the next observed agreement there.
	MaybeSynced map[string]map[string]bool
	// Seen is every content that ever sat at a real path of either side before a pass; a
	// file whose content is not in Seen after a pass holds bytes nobody wrote.
	Seen map[string]bool
}

// NewModel returns the model of a pair that was never synced.
func NewModel() *Model {
	return &Model{B: Tree{}, Ghosts: Tree{}, MaybeSynced: map[string]map[string]bool{}, Seen: map[string]bool{}}
}

// Violation is one broken invariant.
type Violation struct {
	Invariant int
	Text      string
}

func (v Violation) String() string { return fmt.Sprintf("invariant %d: %s", v.Invariant, v.Text) }

// Before records the contents present before a pass.
func (m *Model) Before(s Sides) {
	for _, t := range []Tree{s.L, s.R} {
		for h := range t.Contents() {
			m.Seen[h] = true
		}
	}
}

// Check returns the violations of invariants 1, 2 and 4 by the pass that turned before into
// after. It holds for every pass: clean, faulty, interrupted or stopped by a guard.
func (m *Model) Check(before, after Sides) []Violation {
	var out []Violation
	out = append(out, m.checkNoLoss(before, after)...)
	out = append(out, m.checkNoOverwrite(before, after)...)
	out = append(out, m.checkOnlyPropagation(before, after)...)
	return out
}

// checkNoLoss is invariant 1: every content present at the start exists after the pass on
// a side (as a file or a conflict copy) or in a trash, except a base version that the
// other side's edit replaced.
func (m *Model) checkNoLoss(before, after Sides) []Violation {
	have := after.everywhere()
	var out []Violation
	for _, side := range []string{"L", "R"} {
		bt := before.side(side)
		for _, p := range bt.Files() {
			h := bt[p].Hash
			if have[h] {
				continue
			}
			if b, ok := m.B[p]; ok && !b.Dir && b.Hash == h && m.replacedByOtherSide(before, after, side, p) {
				continue
			}
			out = append(out, Violation{1, fmt.Sprintf("content %s of %s:%q is on no side and in no trash", labels.of(h), side, p)})
		}
	}
	return dedupe(out)
}

// replacedByOtherSide reports whether the other side held an edit at p that now sits at p on
// side: the propagation that may consume a base version.
func (m *Model) replacedByOtherSide(before, after Sides, side, p string) bool {
	other := "R"
	if side == "R" {
		other = "L"
	}
	on, ok := before.side(other)[p]
	an, aok := after.side(side)[p]
	return ok && aok && on == an
}

// checkNoOverwrite is invariant 2: a content that differs from B on a side (an edit, or a
// new file) is still on that side after the pass: at its path, at a conflict copy, or at a
// path a propagated rename moved it to. It may not go to the trash.
func (m *Model) checkNoOverwrite(before, after Sides) []Violation {
	var out []Violation
	for _, side := range []string{"L", "R"} {
		bt, at := before.side(side), after.side(side)
		have := at.Contents()
		for _, p := range bt.Files() {
			n := bt[p]
			if m.synced(bt, p, n) {
				continue // the synced version: the other side may replace it
			}
			if !have[n.Hash] {
				out = append(out, Violation{2, fmt.Sprintf("unsynced %s:%q = %s is gone from %s (now %s)", side, p, n, side, describe(at, p))})
			}
		}
	}
	return out
}

// synced reports whether file n at p on a side whose tree is t is a synced version: equal
// to B at p, or equal to B at a path q the side no longer has there (a rename of a synced
// file, whose content the other side may still replace by propagating an edit).
func (m *Model) synced(t Tree, p string, n Node) bool {
	if b, ok := m.B[p]; ok && b == n {
		return true
	}
	if !n.Dir && m.MaybeSynced[p][n.Hash] {
		return true
	}
	for _, base := range []Tree{m.B, m.Ghosts} {
		for q, b := range base {
			if b == n {
				if cur, ok := t[q]; !ok || cur != n {
					return true
				}
			}
		}
	}
	return false
}

// checkOnlyPropagation is invariant 4: each change the pass made to a side makes it equal to
// the other side (a copy, a delete, a rename of the other side), or adds a conflict copy.
// It also catches partial bytes: no file may hold content that was on neither side before.
func (m *Model) checkOnlyPropagation(before, after Sides) []Violation {
	var out []Violation
	for _, side := range []string{"L", "R"} {
		other := "R"
		if side == "R" {
			other = "L"
		}
		bx, ax := before.side(side), after.side(side)
		bo, ao := before.side(other), after.side(other)
		paths := map[string]bool{}
		for p := range bx {
			paths[p] = true
		}
		for p := range ax {
			paths[p] = true
		}
		axContents := ax.Contents()
		for _, p := range sortedKeys(paths) {
			bn, bok := bx[p]
			an, aok := ax[p]
			if bok == aok && bn == an {
				continue
			}
			on, ook := bo[p]
			switch {
			case aok && an.Dir:
				if ook && on.Dir {
					continue
				}
				if underRenamedFolder(before, after, ax, p, an) {
					continue // a folder that moved with its parent, renamed on the other side
				}
				out = append(out, Violation{4, fmt.Sprintf("folder %s:%q appeared, but %s had no folder there (it had %s)", side, p, other, describe(bo, p))})
			case aok:
				if ook && !on.Dir && on.Hash == an.Hash {
					continue // copied from the other side
				}
				if !m.Seen[an.Hash] {
					out = append(out, Violation{4, fmt.Sprintf("%s:%q holds %s, bytes that were on neither side (partial or corrupt transfer?)", side, p, an)})
					continue
				}
				if isConflictCopy(p) {
					continue
				}
				if cn, ok := ao[p]; ok && cn == an {
					continue // both sides converged on a content that existed: a rename whose edit followed it
				}
				if ook && movedOnSide(bx, ax, p, an.Hash) {
					continue // the engine renamed a file of this side to follow the other side's rename
				}
				if underRenamedFolder(before, after, ax, p, an) {
					continue // moved with its folder, renamed on the other side
				}
				out = append(out, Violation{4, fmt.Sprintf("%s:%q changed from %s to %s; %s had %s there before and %s after", side, p, describe(bx, p), an, other, describe(bo, p), describe(ao, p))})
			default: // removed
				if !ook || on.Dir != bn.Dir {
					continue // a delete or a type change on the other side
				}
				if !bn.Dir && axContents[bn.Hash] {
					continue // renamed: a conflict copy, or following the other side's rename
				}
				if !bn.Dir && !on.Dir && on.Hash != bn.Hash && m.B[p] == bn && after.trash(side)[bn.Hash] {
					// The first half of replacing a synced version by the other side's
					// edit: the old version went to the trash, the new one is not there yet
					// (a pass cut short by a fault or a kill; a clean pass must finish it).
					continue
				}
				out = append(out, Violation{4, fmt.Sprintf("%s:%q (%s) was removed although %s still had %s there", side, p, bn, other, on)})
			}
		}
	}
	return out
}

// underRenamedFolder reports whether n at p of tree ax (after the pass) is the image of
// the same thing (a folder, or a file with the same content) that existed before, on either
// side, under a folder that is gone from both sides now: p = a/rest for a proper ancestor
// folder a of p in ax, and f/rest held it before, for a folder f that disappeared. That is
// a folder rename propagated with what is inside.
func underRenamedFolder(before, after Sides, ax Tree, p string, n Node) bool {
	gone := map[string]bool{}
	for _, t := range []Tree{before.L, before.R} {
		for q, bn := range t {
			if _, l := after.L[q]; bn.Dir && !l {
				if _, r := after.R[q]; !r {
					gone[q] = true
				}
			}
		}
	}
	for a := path.Dir(p); a != "."; a = path.Dir(a) {
		if an, ok := ax[a]; !ok || !an.Dir {
			continue
		}
		rest := p[len(a):]
		for f := range gone {
			for _, t := range []Tree{before.L, before.R} {
				if bn, ok := t[f+rest]; ok && bn == n {
					return true
				}
			}
		}
	}
	return false
}

// movedOnSide reports whether content h sat on t at another path before that no longer
// holds it: the engine moved it to p.
func movedOnSide(before, after Tree, p, h string) bool {
	for q, n := range before {
		if q == p || n.Dir || n.Hash != h {
			continue
		}
		if an, ok := after[q]; !ok || an.Hash != h {
			return true
		}
	}
	return false
}

// CheckGuard is invariant 6 for a pass stopped by a safety guard: no file was deleted on
// either side (each file is still at its path, or its content is still on the side).
func (m *Model) CheckGuard(before, after Sides) []Violation {
	var out []Violation
	for _, side := range []string{"L", "R"} {
		bt, at := before.side(side), after.side(side)
		for _, p := range bt.Files() {
			if n, ok := at[p]; ok && !n.Dir {
				continue
			}
			out = append(out, Violation{6, fmt.Sprintf("guard tripped but %s:%q (%s) was deleted (now %s)", side, p, bt[p], describe(at, p))})
		}
	}
	return out
}

// CheckConverged is invariant 3 for a clean pass: both sides hold the same tree. base,
// when not nil, is the engine's own B and must equal it too.
func (m *Model) CheckConverged(after Sides, base Tree) []Violation {
	var out []Violation
	if d := diffTrees("L", after.L, "R", after.R); d != "" {
		out = append(out, Violation{3, "sides differ after a clean pass:\n" + d})
	}
	if base != nil {
		if d := diffTrees("L", after.L, "B", base); d != "" {
			out = append(out, Violation{3, "the engine's base differs from the synced tree:\n" + d})
		}
	}
	return out
}

// Advance records the agreements of the pass that produced s: where both sides hold the
// same thing it becomes B; where both sides hold nothing it leaves B.
func (m *Model) Advance(s Sides) {
	paths := map[string]bool{}
	for _, t := range []Tree{s.L, s.R, m.B} {
		for p := range t {
			paths[p] = true
		}
	}
	for p := range paths {
		ln, lok := s.L[p]
		rn, rok := s.R[p]
		switch {
		case lok && rok && ln == rn:
			m.B[p] = ln
			delete(m.MaybeSynced, p)
		case !lok && !rok:
			if b, ok := m.B[p]; ok {
				m.Ghosts[p] = b
				delete(m.B, p)
			}
		}
	}
}

// Propagated records in B the copies the pass that turned before into after made: where a
// side now holds at p what the other side held there before, the engine saw both sides
// agree at that moment and may have recorded it, even if the other side changed again
// while the pass ran (a concurrent edit). Without this, the model would take the copy for
// an unsynced edit on the next pass.
func (m *Model) Propagated(before, after Sides) {
	for _, side := range []string{"L", "R"} {
		other := "R"
		if side == "R" {
			other = "L"
		}
		ax, bx, bo := after.side(side), before.side(side), before.side(other)
		for p, n := range ax {
			if on, ok := bo[p]; ok && !n.Dir && on == n && bx[p] != n {
				m.B[p] = n
			}
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func dedupe(vs []Violation) []Violation {
	seen := map[string]bool{}
	var out []Violation
	for _, v := range vs {
		if s := v.String(); !seen[s] {
			seen[s] = true
			out = append(out, v)
		}
	}
	return out
}

func formatViolations(vs []Violation) string {
	var b strings.Builder
	for _, v := range vs {
		b.WriteString("  ")
		b.WriteString(v.String())
		b.WriteString("\n")
	}
	return b.String()
}
