package client

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Sentinel errors that callers branch on with errors.Is. Every non-2xx answer of the API
// is returned as an *Error whose Is method maps it onto these (API document §6.2).
var (
	// ErrNotFound: 404, the path or operation does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: any 409 (the more precise sentinels below match too).
	ErrConflict = errors.New("conflict")
	// ErrAlreadyExists: 409 DiskResourceAlreadyExistsError or
	// DiskPathPointsToExistentDirectoryError; the target is taken.
	ErrAlreadyExists = errors.New("already exists")
	// ErrParentMissing: 409 DiskPathDoesntExistsError; a parent folder is missing.
	ErrParentMissing = errors.New("parent folder does not exist")
	// ErrMD5Differ: 409 MD5DifferError; a conditional delete found other content.
	ErrMD5Differ = errors.New("md5 differs")
	// ErrLocked: 423; the resource is busy with another operation (or traffic limit).
	ErrLocked = errors.New("resource locked")
	// ErrRateLimited: 429.
	ErrRateLimited = errors.New("rate limited")
	// ErrUnauthorized: 401; the token is missing, expired or revoked.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: 403; scope missing or resource not accessible.
	ErrForbidden = errors.New("forbidden")
	// ErrInsufficientStorage: 507; the Disk is full. Not retried.
	ErrInsufficientStorage = errors.New("insufficient storage")
	// ErrPayloadTooLarge: 413, or a file over the account's max_file_size. Not retried.
	ErrPayloadTooLarge = errors.New("payload too large")
	// ErrBadRequest: 400.
	ErrBadRequest = errors.New("bad request")
	// ErrServer: 5xx other than 507.
	ErrServer = errors.New("server error")
	// ErrOperationFailed: an asynchronous operation ended with a status other than success.
	ErrOperationFailed = errors.New("operation failed")
	// ErrTruncated: a transfer did not carry exactly the announced bytes: a download that
	// could not be completed, or an upload source shorter or longer than its size.
	ErrTruncated = errors.New("truncated transfer")
	// ErrInsecureOrigin: a plain http:// origin whose host is not loopback.
	ErrInsecureOrigin = errors.New("insecure origin")
)

// Sentinels of this client's own checks (no HTTP status behind them).
var (
	// ErrNotDir: List or Walk of a path that is a file.
	ErrNotDir = errors.New("not a folder")
	// ErrOperationTimeout: an asynchronous operation was still in progress after
	// OperationTimeout. It may still finish on the server.
	ErrOperationTimeout = errors.New("operation still in progress")
	// ErrUploadMismatch: after an upload the server lists a size or hash other than what
	// was sent.
	ErrUploadMismatch = errors.New("uploaded file differs from what was sent")
	// ErrClosed: a call made after Close.
	ErrClosed = errors.New("client closed")
)

// Error is one non-2xx answer of the Disk API or of a transfer host.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Code is the API's `error` key (DiskNotFoundError...), empty for non-JSON bodies.
	Code string
	// Description is the API's technical English text; Message its localised text.
	Description string
	Message     string
	// RetryAfter is the server's Retry-After, zero when absent.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	text := e.Description
	if text == "" {
		text = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Code, text)
	}
	return fmt.Sprintf("%d: %s", e.Status, text)
}

// Is maps the answer onto the package's sentinels.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrAlreadyExists:
		return e.Status == http.StatusConflict &&
			(e.Code == "DiskResourceAlreadyExistsError" || e.Code == "DiskPathPointsToExistentDirectoryError")
	case ErrParentMissing:
		return e.Status == http.StatusConflict && e.Code == "DiskPathDoesntExistsError"
	case ErrMD5Differ:
		return e.Status == http.StatusConflict && e.Code == "MD5DifferError"
	case ErrLocked:
		return e.Status == http.StatusLocked
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrInsufficientStorage:
		return e.Status == http.StatusInsufficientStorage
	case ErrPayloadTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrServer:
		return e.Status >= 500 && e.Status != http.StatusInsufficientStorage
	}
	return false
}

// Temporary reports whether the same request may succeed later without any change:
// 429, 5xx except 507, and 423 (locked).
func (e *Error) Temporary() bool {
	return e.Status == http.StatusTooManyRequests || e.Status == http.StatusLocked ||
		(e.Status >= 500 && e.Status != http.StatusInsufficientStorage)
}
