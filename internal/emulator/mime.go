package emulator

import (
	"path"
	"strings"
)

// typeInfo is what the service derives from a file name: mime_type and media_type (§2.2,
// §9.7). The uploader's Content-Type is ignored, as on the real service.
type typeInfo struct{ mime, media string }

var byExt = map[string]typeInfo{
	".txt": {"text/plain", "document"}, ".md": {"text/plain", "document"}, ".log": {"text/plain", "text"},
	".csv": {"text/csv", "spreadsheet"}, ".xls": {"application/vnd.ms-excel", "spreadsheet"},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "spreadsheet"},
	".doc":  {"application/msword", "document"},
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "document"},
	".pdf":  {"application/pdf", "document"}, ".odt": {"application/vnd.oasis.opendocument.text", "document"},
	".epub": {"application/epub+zip", "book"}, ".fb2": {"application/x-fictionbook+xml", "book"},
	".html": {"text/html", "web"}, ".htm": {"text/html", "web"}, ".css": {"text/css", "web"},
	".js": {"application/javascript", "development"}, ".go": {"text/x-go", "development"},
	".py": {"text/x-python", "development"}, ".c": {"text/x-c", "development"}, ".h": {"text/x-c", "development"},
	".json": {"application/json", "development"}, ".xml": {"application/xml", "development"},
	".yaml": {"application/x-yaml", "development"}, ".yml": {"application/x-yaml", "development"},
	".sh":  {"application/x-sh", "development"},
	".jpg": {"image/jpeg", "image"}, ".jpeg": {"image/jpeg", "image"}, ".png": {"image/png", "image"},
	".gif": {"image/gif", "image"}, ".webp": {"image/webp", "image"}, ".heic": {"image/heic", "image"},
	".svg": {"image/svg+xml", "image"}, ".bmp": {"image/bmp", "image"},
	".mp3": {"audio/mpeg", "audio"}, ".ogg": {"audio/ogg", "audio"}, ".flac": {"audio/flac", "audio"},
	".wav": {"audio/x-wav", "audio"},
	".mp4": {"video/mp4", "video"}, ".mkv": {"video/x-matroska", "video"}, ".avi": {"video/x-msvideo", "video"},
	".mov": {"video/quicktime", "video"}, ".webm": {"video/webm", "video"},
	".zip": {"application/zip", "compressed"}, ".gz": {"application/gzip", "compressed"},
	".tgz": {"application/gzip", "compressed"}, ".bz2": {"application/x-bzip2", "compressed"},
	".xz": {"application/x-xz", "compressed"}, ".7z": {"application/x-7z-compressed", "compressed"},
	".rar": {"application/x-rar", "compressed"}, ".tar": {"application/x-tar", "compressed"},
	".iso": {"application/x-iso9660-image", "diskimage"}, ".dmg": {"application/x-apple-diskimage", "diskimage"},
	".exe": {"application/x-dosexec", "executable"}, ".msi": {"application/x-msi", "executable"},
	".apk": {"application/vnd.android.package-archive", "executable"},
	".ttf": {"font/ttf", "font"}, ".otf": {"font/otf", "font"}, ".woff": {"font/woff", "font"},
	".swf": {"application/x-shockwave-flash", "flash"}, ".bak": {"application/octet-stream", "backup"},
	".gpg": {"application/pgp-encrypted", "encoded"}, ".ini": {"text/plain", "settings"},
	".conf": {"text/plain", "settings"}, ".db": {"application/octet-stream", "data"},
	".bin": {"application/octet-stream", "data"},
}

// typeOf decides mime_type and media_type from the name alone; unknown names are
// application/octet-stream and "data", as the recorded extension-less files show.
func typeOf(name string) typeInfo {
	if t, ok := byExt[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return typeInfo{"application/octet-stream", "data"}
}
