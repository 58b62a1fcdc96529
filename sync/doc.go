// Package sync is yasyncd's sync engine: one two-way pass between a local folder and a
// Yandex Disk folder that never loses a file. It implements
// ../shared/docs/sync-semantics.md; import it as
//
//	yasync "github.com/yasyncd/yasyncd/sync"
//
// # What the engine guarantees
//
//   - No loss: every content that existed on either side at the start of a pass exists
//     after it on at least one side, as a file, a conflict copy, or in a trash (the Disk
//     trash or .yasyncd/trash/), except a base version replaced by the other side's edit.
//   - No overwrite of unsynced edits: replacing or deleting a remote file is a conditional
//     DELETE (md5 of what the plan saw) followed by an upload with overwrite=false; a local
//     replacement or delete happens only if the file still matches what the scan saw.
//   - Convergence: after a pass with no concurrent edits, local = remote = base, and the
//     next pass plans no job and sends no transfer request.
//   - Guards: a missing root, an emptied side or a mass delete stop the pass before any
//     delete (*GuardError).
//
// # How a pass runs (Engine.RunOnce)
//
//  1. Preflight (run.go): root and marker checks, creation on a first sync.
//  2. Scans (scan.go): the local walk with the cheap filter (size, mtime, inode) and
//     hashing of what it cannot vouch for; the remote listing, skipped when the Disk
//     revision has not moved (API document §10).
//  3. Plan (plan.go): a merge-join of the sorted base, local and remote listings, name
//     collisions, rename detection, the reconciler per path, the folder rule, modes and
//     conflict policies. Jobs are ordered so that every job's dependencies come first:
//     deletes inside a moved folder before the move, then everything in key order
//     (parents before children), then the jobs that remove whole folders, after the
//     moves that take something out of them. A rename inside a renamed folder is found
//     against the base the folder's move re-keyed and is one more move that waits for it;
//     when its key sorts before the folder's, the jobs are reordered (depsFirst).
//  4. Guards (run.go), then the executor (exec.go): a bounded pool of workers; a job waits
//     only for the jobs it depends on (its parent folder's mkdir or move, a conflict's
//     rename).
//
// # The decision table
//
// Decide (decide.go) is the table of sync-semantics.md "Decisions" as a pure function of
// three versions: base, local, remote, each absent or a file (size, md5) or a folder.
// "Changed" means different from the base; equal content on both sides is recorded with no
// transfer; an edit survives a delete; two different edits are a conflict. Folders compare
// by existence; a type change against an edit is a conflict in which the folder keeps the
// name. decide_test.go has a row for every cell.
//
// # Crash safety
//
// Every job is written to the state's journal before it starts, and the base entry for a
// path is written only in the same transaction that clears the job (state.DB.Complete),
// after both sides hold the same content. A run that finds journal records lists the
// remote tree and hashes those paths in full, so a job interrupted at any instant is
// either seen as done (both sides equal: recorded) or re-planned. Two steps need more:
// a journalled move found done on its side is replayed in the base (planner.replayMoves),
// and a conflict's rename keeps its record until the path that lost its name is written
// again, so neither half-done step looks like a user's rename. A move whose paths a later
// move of the same plan moves on (a rename inside a renamed folder) records their base at
// the path in between, so after a crash between the two the next pass finds the second
// rename again. Downloads go through .yasyncd/tmp/ and are renamed into place, so a real
// path never holds partial bytes.
//
// # Caveats
//
//   - A conditional replace or delete that finds the remote file changed since the
//     listing (409 MD5DifferError), and a download whose target was edited meanwhile, are
//     reported in Report.Failures and resolved by the next pass, which sees the conflict.
//   - Rename detection uses the inode (local) and resource_id (remote), or size plus md5
//     when that pair is unique. A new local file that reuses a deleted file's inode is
//     taken for its rename; the result is still correct (a move, then the new bytes are
//     uploaded over the moved file, whose old version goes to the Disk trash).
//
// # Where each invariant is enforced
//
//   - "state is written only after both sides agree": executor.runJob.
//   - "a delete never destroys": conditionalDelete (Disk trash, never permanently) and
//     Local.Trash; a folder is deleted whole only when nothing below it survives
//     (planner.decide).
//   - "an unknown remote hash is not a change": Decide returns ActWait.
//   - "a missing listing entry is a delete only if the revision held or the path is 404":
//     Engine.scanRemote.
//   - "no saved state: copy only": Engine.loadBase leaves the base empty, so Decide never
//     returns a delete.
//   - "renames are not deletes": planner.findMoves re-keys moved paths before deciding.
//   - "own writes are not user changes": every job records the entry the Local returned
//     after writing (size, mtime, inode), so the next scan's cheap filter matches.
package sync
