// Package client talks to the Yandex Disk REST API (v1): reading metadata and listings,
// streaming uploads and downloads, and the folder, move, copy, delete, trash and custom
// property calls a two-way sync needs.
//
// # Paths
//
// Every path is an absolute Disk path with its scheme ("disk:/Sync/a b.txt"); Abs adds
// "disk:" to a scheme-less path because a name containing ':' without a scheme is refused
// by the server. Paths always travel as query values encoded by net/url, so '+', '#', '%',
// '&' and quotes survive unchanged.
//
// # Errors
//
// Every non-2xx answer becomes an *Error carrying the status, the API's error code, its
// description and Retry-After; errors.Is maps it onto the sentinels in errors.go. Errors
// are wrapped with the call and the path ("upload disk:/a.txt: 409 ...").
//
// # Retries
//
// 429, 5xx (except 507) and connection failures are retried with exponential backoff and
// jitter, honouring Retry-After; 423 (locked) is retried a few times 1.5–3 s apart. Nothing
// is retried once the caller's context is done. A request is retried only where repeating
// it is safe, and where an earlier attempt may already have been applied (a 5xx or a cut
// connection after the request was sent) the answer to the retry is read in that light:
//
//   - mkdir: 409 "points to existent directory" on a retry means the first attempt made it.
//   - delete (also trash delete): 404 on a retry means nothing is at the path any more,
//     which is what the caller asked for, whether our first attempt or someone else did it.
//   - move: 404 for the source or 409 for the destination on a retry is success when the
//     source is gone and the destination exists.
//   - copy: 409 on a retry is success when the destination matches the source (type, and
//     for files size and md5).
//   - trash restore: 404 for the trash item on a retry is success.
//   - set properties: the merge is idempotent, so it is simply repeated (a 500 right
//     after an upload is common, §9.1).
//   - upload: the link is single-use, so a failed PUT is repeated with a new link, and only
//     when the body can be rewound (io.Seeker). If asking for that new link answers 409
//     because an earlier PUT did land, the file is accepted when its size and md5 match
//     what was sent.
//
// 413 and 507 are never retried. A delete repeated after an attempt that may have been
// applied can hit a file someone else put at the path meanwhile; it goes to the trash,
// not away, and a conditional delete (DeleteOptions.MD5) refuses it.
//
// # Secrets
//
// The OAuth token is added by the HTTPClient's transport and never seen here. Signed upload
// and download links are never logged and never appear in errors: transport errors are
// stripped of their URL.
package client
