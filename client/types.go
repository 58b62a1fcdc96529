package client

import "time"

// Resource type values as the API spells them.
const (
	TypeFile = "file"
	TypeDir  = "dir"
)

// Disk is the answer of GET /v1/disk (API document §2.1). Unknown keys are ignored.
type Disk struct {
	TotalSpace      int64             `json:"total_space"`
	UsedSpace       int64             `json:"used_space"`
	TrashSize       int64             `json:"trash_size"`
	MaxFileSize     int64             `json:"max_file_size"`
	PaidMaxFileSize int64             `json:"paid_max_file_size"`
	IsPaid          bool              `json:"is_paid"`
	RegTime         string            `json:"reg_time"`
	SystemFolders   map[string]string `json:"system_folders"`
	User            *User             `json:"user"`
	// Revision is the revision of the whole Disk: opaque, rises with every change (§10).
	Revision int64 `json:"revision"`
}

// User is the account owning the Disk.
type User struct {
	UID         string `json:"uid"`
	Login       string `json:"login"`
	DisplayName string `json:"display_name"`
	Country     string `json:"country"`
}

// Resource is a file or folder (API document §2.2). Times are parsed from RFC 3339;
// hashes are lowercase hex and empty when the server did not send them (unknown, not a
// mismatch: §9 item 5).
type Resource struct {
	Name             string         `json:"name"`
	Path             string         `json:"path"`
	Type             string         `json:"type"`
	Created          time.Time      `json:"created"`
	Modified         time.Time      `json:"modified"`
	ResourceID       string         `json:"resource_id"`
	Revision         int64          `json:"revision"`
	Size             int64          `json:"size"`
	MD5              string         `json:"md5"`
	SHA256           string         `json:"sha256"`
	MimeType         string         `json:"mime_type"`
	MediaType        string         `json:"media_type"`
	File             string         `json:"file"`
	CustomProperties map[string]any `json:"custom_properties"`
	OriginPath       string         `json:"origin_path"`
	Deleted          time.Time      `json:"deleted"`
	PublicURL        string         `json:"public_url"`
	Embedded         *ResourceList  `json:"_embedded"`
}

// IsDir reports whether r is a folder.
func (r *Resource) IsDir() bool { return r.Type == TypeDir }

// ResourceList is the `_embedded` part of a folder, or the body of the flat list endpoints
// (which have no `total`: Total stays 0 there and means nothing).
type ResourceList struct {
	Items  []Resource `json:"items"`
	Limit  int        `json:"limit"`
	Offset int        `json:"offset"`
	Total  int        `json:"total"`
	Path   string     `json:"path"`
	Sort   string     `json:"sort"`
}

// Link is the API's link object (§1.6). OperationID is set only on upload links.
type Link struct {
	Href        string `json:"href"`
	Method      string `json:"method"`
	Templated   bool   `json:"templated"`
	OperationID string `json:"operation_id,omitempty"`
}

// Operation status values (§5.5). Any other value is a failure.
const (
	OpSuccess    = "success"
	OpInProgress = "in-progress"
)

// Operation is the answer of GET /v1/disk/operations/{id}.
type Operation struct {
	Status string `json:"status"`
}

// UploadOptions tunes Upload.
type UploadOptions struct {
	// Overwrite replaces an existing file (overwrite=true). The sync engine never sets
	// it: it deletes the old version conditionally first (sync-semantics "Deletes and safety").
	Overwrite bool
}

// UploadResult describes what an upload sent.
type UploadResult struct {
	// Bytes is how many body bytes were sent; MD5 and SHA256 are the hex digests of exactly
	// those bytes, computed while streaming.
	Bytes  int64
	MD5    string
	SHA256 string
	// Resource is the file as the server lists it after the upload, when it could be read
	// (nil while the Disk is still finalising the file: §9 items 1 and 2).
	Resource *Resource
}

// DeleteOptions tunes Delete.
type DeleteOptions struct {
	// Permanently bypasses the trash. The sync engine never sets it.
	Permanently bool
	// MD5, when set, makes the delete conditional: the server answers 409 MD5DifferError
	// (ErrMD5Differ) when the file's md5 differs.
	MD5 string
}
