package sync

// This file is the reconciler: the three-way decision of sync-semantics.md "Decisions" as
// a pure function. It performs no I/O and knows nothing about paths, so the whole change
// matrix is tested as a table (decide_test.go).

// Kind says what a side holds at a path.
type Kind uint8

// The kinds of Version.
const (
	Absent Kind = iota
	File
	Dir
)

func (k Kind) String() string {
	switch k {
	case File:
		return "file"
	case Dir:
		return "dir"
	}
	return "absent"
}

// Version is the content of one path on one side (or in the base): what the reconciler
// compares. Folders compare by existence only. An empty MD5 on a file means "not known
// yet" (the Disk may still be computing it, API document §9): it is never equal to anything.
type Version struct {
	Kind Kind
	Size int64
	MD5  string
}

// Same reports whether a and b hold the same content.
func (a Version) Same(b Version) bool {
	if a.Kind != b.Kind {
		return false
	}
	if a.Kind != File {
		return true
	}
	return a.MD5 != "" && a.MD5 == b.MD5 && a.Size == b.Size
}

// Action is what the reconciler wants done for one path.
type Action uint8

const (
	// ActNone: both sides equal the base; nothing to do.
	ActNone Action = iota
	// ActRecord: both sides hold the same content that differs from the base (or a new
	// path created identically on both sides): write the base, transfer nothing.
	ActRecord
	// ActForget: both sides deleted the path: drop it from the base.
	ActForget
	// ActDownload: copy the remote file to the local side (replacing what is there).
	ActDownload
	// ActUpload: copy the local file to the remote side (replacing what is there).
	ActUpload
	// ActMkdirLocal / ActMkdirRemote: create the folder on that side (replacing an
	// unchanged file of the base there).
	ActMkdirLocal
	ActMkdirRemote
	// ActDeleteLocal / ActDeleteRemote: the other side deleted an unchanged path.
	ActDeleteLocal
	ActDeleteRemote
	// ActConflict: both sides changed the file to different contents.
	ActConflict
	// ActConflictLocalFile: a local file against a remote folder; the folder keeps the name.
	ActConflictLocalFile
	// ActConflictRemoteFile: a remote file against a local folder; the folder keeps the name.
	ActConflictRemoteFile
	// ActWait: the remote hash is not known yet; look again on the next pass.
	ActWait
)

var actionNames = [...]string{"none", "record", "forget", "download", "upload", "mkdir-local",
	"mkdir-remote", "delete-local", "delete-remote", "conflict", "conflict-local-file",
	"conflict-remote-file", "wait"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Decide is the decision table of sync-semantics.md for one path: b is the base (the last
// content both sides agreed on), l and r the current local and remote contents. A side is
// "changed" when it differs from b; a first sync (no base) passes b = Version{} so every
// present path is new and nothing is ever deleted.
func Decide(b, l, r Version) Action {
	if r.Kind == File && r.MD5 == "" {
		// An unknown remote hash must not look like an edit (that would download or
		// conflict) nor like equality (that would record unverified content).
		return ActWait
	}
	if l.Same(r) {
		switch {
		case l.Kind == Absent && b.Kind == Absent:
			return ActNone
		case l.Kind == Absent:
			return ActForget
		case l.Same(b):
			return ActNone
		}
		return ActRecord
	}
	lChanged, rChanged := !l.Same(b), !r.Same(b)
	switch {
	case !lChanged: // only the remote changed: propagate it to the local side
		return toLocal(r)
	case !rChanged: // only the local side changed
		return toRemote(l)
	}
	// Both changed, to different contents.
	switch {
	case l.Kind == Absent: // local delete against a remote edit: the edit survives
		return toLocal(r)
	case r.Kind == Absent: // remote delete against a local edit: the edit survives
		return toRemote(l)
	case l.Kind == File && r.Kind == File:
		return ActConflict
	case l.Kind == File: // r is a folder
		return ActConflictLocalFile
	case r.Kind == File: // l is a folder
		return ActConflictRemoteFile
	}
	// Two folders are the same content; unreachable, kept for completeness.
	return ActRecord
}

func toLocal(r Version) Action {
	switch r.Kind {
	case Absent:
		return ActDeleteLocal
	case Dir:
		return ActMkdirLocal
	}
	return ActDownload
}

func toRemote(l Version) Action {
	switch l.Kind {
	case Absent:
		return ActDeleteRemote
	case Dir:
		return ActMkdirRemote
	}
	return ActUpload
}
