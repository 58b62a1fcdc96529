package sync

import "testing"

// The change matrix of sync-semantics.md "Decisions": B absent/present × L absent/same/
// changed × R absent/same/changed, with "changed on both sides" split into same and
// different bytes, plus type changes and folders by existence. Every cell has a row.
func TestDecide(t *testing.T) {
	var (
		none  = Version{}
		base  = Version{Kind: File, Size: 3, MD5: "b0"}
		editL = Version{Kind: File, Size: 4, MD5: "l1"}
		editR = Version{Kind: File, Size: 5, MD5: "r1"}
		same2 = Version{Kind: File, Size: 4, MD5: "l1"} // the same bytes as editL
		dir   = Version{Kind: Dir}
		// A file with the same size as base but other bytes: size alone is no proof.
		sameSize = Version{Kind: File, Size: 3, MD5: "zz"}
		unknown  = Version{Kind: File, Size: 3}
	)
	cases := []struct {
		name    string
		b, l, r Version
		want    Action
	}{
		// B absent: L absent / new; R absent / new.
		{"B- L- R-", none, none, none, ActNone},
		{"B- L- R+", none, none, editR, ActDownload},
		{"B- L+ R-", none, editL, none, ActUpload},
		{"B- L+ R+ differ", none, editL, editR, ActConflict},
		{"B- L+ R+ same bytes", none, editL, same2, ActRecord},
		{"B- L+ R+ same size other bytes", none, sameSize, base, ActConflict},
		{"B- Ldir R-", none, dir, none, ActMkdirRemote},
		{"B- L- Rdir", none, none, dir, ActMkdirLocal},
		{"B- Ldir Rdir", none, dir, dir, ActRecord},
		{"B- Lfile Rdir", none, editL, dir, ActConflictLocalFile},
		{"B- Ldir Rfile", none, dir, editR, ActConflictRemoteFile},

		// B present (file): L absent/same/changed × R absent/same/changed.
		{"B L- R-", base, none, none, ActForget},
		{"B L- R=", base, none, base, ActDeleteRemote},
		{"B L- R~", base, none, editR, ActDownload},
		{"B L= R-", base, base, none, ActDeleteLocal},
		{"B L= R=", base, base, base, ActNone},
		{"B L= R~", base, base, editR, ActDownload},
		{"B L~ R-", base, editL, none, ActUpload},
		{"B L~ R=", base, editL, base, ActUpload},
		{"B L~ R~ differ", base, editL, editR, ActConflict},
		{"B L~ R~ same bytes", base, editL, same2, ActRecord},
		{"B L~ same size R=", base, sameSize, base, ActUpload},

		// Type changes (file ↔ folder): one side alone is a delete plus a create; against
		// a change on the other side it is a conflict where the folder keeps the name.
		{"Bfile Ldir R=", base, dir, base, ActMkdirRemote},
		{"Bfile L= Rdir", base, base, dir, ActMkdirLocal},
		{"Bfile Ldir R~", base, dir, editR, ActConflictRemoteFile},
		{"Bfile L~ Rdir", base, editL, dir, ActConflictLocalFile},
		{"Bfile Ldir R-", base, dir, none, ActMkdirRemote},
		{"Bfile L- Rdir", base, none, dir, ActMkdirLocal},
		{"Bfile Ldir Rdir", base, dir, dir, ActRecord},
		{"Bdir Lfile R=", dir, editL, dir, ActUpload},
		{"Bdir L= Rfile", dir, dir, editR, ActDownload},
		{"Bdir Lfile Rfile differ", dir, editL, editR, ActConflict},
		{"Bdir Lfile Rfile same", dir, editL, same2, ActRecord},
		{"Bdir Lfile R-", dir, editL, none, ActUpload},
		{"Bdir L- Rfile", dir, none, editR, ActDownload},

		// Folders by existence.
		{"Bdir L- R-", dir, none, none, ActForget},
		{"Bdir L- R=", dir, none, dir, ActDeleteRemote},
		{"Bdir L= R-", dir, dir, none, ActDeleteLocal},
		{"Bdir L= R=", dir, dir, dir, ActNone},

		// Remote hash not known yet (the Disk is finalising): never decide on it.
		{"B L= R?", base, base, unknown, ActWait},
		{"B- L- R?", none, none, unknown, ActWait},
		{"B L~ R?", base, editL, unknown, ActWait},
	}
	for _, c := range cases {
		if got := Decide(c.b, c.l, c.r); got != c.want {
			t.Errorf("%s: Decide = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestVersionSame(t *testing.T) {
	a := Version{Kind: File, Size: 1, MD5: "x"}
	if !a.Same(a) {
		t.Fatal("a file differs from itself")
	}
	if (Version{Kind: File, Size: 1}).Same(Version{Kind: File, Size: 1}) {
		t.Fatal("unknown hashes compared equal")
	}
	if !(Version{Kind: Dir}).Same(Version{Kind: Dir, Size: 9}) {
		t.Fatal("folders must compare by existence")
	}
	if (Version{Kind: Dir}).Same(Version{}) {
		t.Fatal("a folder equals absence")
	}
}
