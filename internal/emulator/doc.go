// Package emulator is an in-process Yandex Disk: the REST API v1, the Yandex OAuth server
// (package yandexid, mounted on the same origin), and upload and download hosts, all served
// from one 127.0.0.1 listener. Every test of yasyncd that talks to "the Disk" talks to it, so
// it reproduces the service's awkward parts — asynchronous operations, locks, single-use
// upload URLs, varying error key order, fields narrowing — rather than an idealised API.
// Section numbers (§) refer to shared/docs/yandex-api.md; each behaviour has a test naming
// its section.
//
// It is imported only by tests and by cmd/yandexemu, never by the yasyncd binary.
//
// # What it models
//
//   - Authorization (§1.2, §1.4): only "Authorization: OAuth <token>"; the token must be
//     Options.Token or one issued, unexpired and unrevoked by the OAuth server. Anything else
//     is the 401 UnauthorizedError of fixtures/error-401.json. The upload PUT needs no
//     header; downloads work with or without one.
//   - Response format (§1.5, §6): success bodies application/json; charset=utf-8, errors
//     application/json with {message, description, error} in one of two key orders that
//     alternate, Russian message, English description that echoes the path as sent; raw
//     UTF-8, unescaped '&' in hrefs; times as 2024-07-10T16:47:49+00:00.
//   - Links (§1.1, §1.6): every href — resource and operation links, upload and download
//     links, Resource.file, the 302 Location to storage — is built on the origin the request
//     came to: https when the connection is TLS or X-Forwarded-Proto says https, else http;
//     the host from the Host header (the listen address when there is none). Behind a TLS
//     front that keeps Host, a client asking https://cloud-api.yandex.net gets
//     https://cloud-api.yandex.net links and can follow them; a request to srv.URL gets links
//     on srv.URL.
//   - Disk info (§2.1) with every key of fixtures/disk-info.json; revision is a global
//     counter in microseconds since the epoch, strictly increasing on every change; each
//     resource carries the revision of its own last change and folder revisions do not roll
//     up (§10).
//   - Metadata and listings (§2.2–§2.6): GET /resources with limit (default 20), offset,
//     sort (folders always first), limit=0; fields filtering over the JSON tree including the
//     narrowing rules of §2.3; /resources/files (no total, ordered by resource_id, which is
//     stable but not alphabetical); /resources/last-uploaded (newest first); trash listing
//     with <name>_<40 hex> paths, origin_path and deleted.
//   - Paths (§7): disk:, app: (a folder created on first use, Options.AppFolder) and trash:
//     schemes; scheme-less paths; ':' without a scheme, '.', '..', control characters,
//     invalid UTF-8, names over 255 characters and paths over 32760 → 400; trailing and
//     doubled slashes accepted; case-sensitive, byte-exact names (no Unicode normalisation).
//   - Upload (§3): Link-upload with a 64-hex operation_id that is in-progress until the PUT
//     and success after; 409 for an existing file without overwrite or a missing parent; 423
//     on a locked path; 507 when full; PUT with Content-Length or chunked, 201 and an empty
//     body; single-use URLs (400 on reuse, §9.3) that expire after 30 minutes; 413 over
//     MaxFileSize; md5, sha256 and size computed by the server; mime_type and media_type from
//     the name. A chunked body that ends properly is stored as sent, however short (§9.4: the
//     server cannot tell what the client meant). A body that does not arrive whole — shorter
//     than its Content-Length, or chunked with the connection gone before the terminating
//     zero-length chunk — is not stored: the operation ends failed and the URL is used up
//     (§3.2, §9.3).
//   - Download (§4): a signed link on the request's origin shaped like the recorded ones
//     (filename, fsize, etag… in the query; expires after 4 hours), 302 to a storage path
//     that answers 200 with the exact length and the file's type, or 206 for a Range;
//     download-host errors are HTML. Links point at the file version they were made for.
//   - Changes (§5): mkdir with its three 409s; copy and move (201 for files and empty
//     folders, 202 with an operation for non-empty folders or force_async; 409 exists, 409
//     parent missing, 404 source missing, 400 for a folder into its own subtree); a move keeps
//     resource_id, copy and move keep md5, sha256, size and custom_properties; delete to the
//     trash or permanently, with md5 (409 MD5DifferError), 204 or 202; trash delete, empty
//     and restore (201/202, 404, 409); PATCH of custom_properties (merge, null removes, all
//     removed → null, 1024-character limit, flat values only, new revision and modified).
//   - Asynchronous operations (§5.5, §9.9): a 202'd job completes OperationDelay after it
//     started (zero: before the next request is handled). Its effect appears on the Disk only
//     then, and until then its source and destination are locked: writes touching them answer
//     423 DiskResourceLockedError (§9.8). The operation answers in-progress, then success or
//     failed; unknown ids answer exactly fixtures/error-404-operation.json. Both
//     /operations/<id> and /operations?id=<id> work.
//   - Quota (§2.1, §5.3): used_space includes the trash; TotalSpace and SetQuota set the size.
//   - Timing quirks, off by default so tests stay deterministic: Options.FinalizeWindow
//     (§9.1: PATCH alternately 500 and silently dropped), Options.NotFoundAfterUpload (§9.2),
//     Options.UploadAccepted (§3.2: the PUT answers 202, the file appears later).
//
// # What it does not model
//
//   - Public resources and publishing (§5.6), /resources/public, save-to-disk, public
//     download limits; previews (preview, sizes, preview_size, preview_crop); exif and
//     photoslice_time beyond an empty exif object; share information.
//   - Upload from a URL (§3.3) is accepted with 202 and always ends failed: there is no
//     internet. Partial (Content-Range) uploads and their 412 are not modelled.
//   - Folder downloads as zip (GET /resources/download on a folder answers 400).
//   - Scopes (§1.3): every valid token may do everything; no 403 ForbiddenError, no
//     DiskUnsupportedUserAccountTypeError, no 423 DiskUploadTrafficLimitExceeded, no upload
//     throttling by media type.
//   - The app folder's "<name>_<app id>" renaming when the folder name is taken (§5.7).
//   - A 204 carries no Content-Length: 0 header (net/http removes it, as RFC 9110 requires);
//     the service sends one.
//   - Separate upload and download hosts (§1.1): their links are on the API's origin.
//   - Operation links are always on the request's scheme (the occasional http:// of §1.6 is
//     not reproduced); failures are always spelled "failed", never "failure".
//   - Copy with overwrite=true always works (rclone found it unreliable, §9.12).
//   - Real concurrency effects such as partially visible folder copies: an asynchronous job
//     applies atomically at its completion time.
//   - Rate limits: no 429 unless injected.
//
// # Choices where the service is unconfirmed
//
//   - Overwriting a file by upload creates a new resource: new resource_id, no custom
//     properties, created = modified = upload time. A replaced copy/move destination is
//     deleted permanently, not moved to the trash.
//   - Restoring from the trash recreates missing parent folders of origin_path.
//   - A copy gets created = modified = the copy time and new resource ids throughout; a move
//     gives only the moved resource a new revision.
//   - Bad parameters (limit, sort, paths) answer 400 FieldValidationError.
//   - 423 also answers upload links and writes that touch a path locked by Lock or by a
//     running operation, including deleting one of its ancestors.
//
// # Using it in a test
//
//	srv := emulator.NewServer(t, emulator.Options{OperationDelay: time.Second})
//	if err := srv.PutFile("disk:/Sync/a.txt", []byte("hello")); err != nil { // another device
//		t.Fatal(err)
//	}
//	// Point the code under test at srv.URL (API and OAuth origin) with srv.Token() and
//	// srv.Client(), run it, then inspect:
//	st, ok := srv.Stat("disk:/Sync/a.txt")
//	reqs := srv.Requests() // e.g. assert that a second sync sent no upload
//
// NewServer listens on 127.0.0.1:0 and closes with the test. A request to an endpoint the
// emulator does not model answers 501 and fails the test. Seeding and inspection methods
// (PutFile, Mkdir, Remove, Move, ReadFile, Stat, Snapshot, Trash, SetProperty, Lock, Unlock,
// SetQuota, Revision) act like another device and bypass locks. srv.OAuth approves device
// codes, issues, expires and revokes tokens.
//
// # Faults
//
// InjectN("PUT", emulator.UploadPathPrefix, 2, emulator.Fault{Kind: emulator.FaultInternal})
// fails the next two upload PUTs; SetFault installs a hook deciding per request; FaultRate
// with Seed injects random, repeatable faults (429 with and without Retry-After, 500, 503,
// resets, responses dropped after the change was applied, truncated downloads) except on
// OAuth endpoints. Every injected fault is named in the request log.
package emulator
