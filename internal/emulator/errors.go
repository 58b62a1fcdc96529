package emulator

import (
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
)

// apiError is one error answer of the Disk API (§6.1): an HTTP status and the three strings of
// the body. message is Russian, description English, as every recording shows.
type apiError struct {
	status      int
	code        string
	description string
	message     string
	retryAfter  int // seconds; >0 adds a Retry-After header
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.description) }

// The error catalogue of §6.2. Texts of the recorded errors are copied exactly (including the
// double space in the operation message); the others follow the same style.
func errUnauthorized() *apiError {
	return &apiError{http.StatusUnauthorized, "UnauthorizedError", "Unauthorized", "Не авторизован.", 0}
}

func errNotFound() *apiError {
	return &apiError{http.StatusNotFound, "DiskNotFoundError", "Resource not found.", "Не удалось найти запрошенный ресурс.", 0}
}

func errOperationNotFound() *apiError {
	return &apiError{http.StatusNotFound, "DiskOperationNotFoundError", "Operation not found.", "Не удалось найти  операцию.", 0}
}

// The 409 texts echo the path exactly as the client sent it (§5.1, §9.15).
func errPathDoesntExist(sent string) *apiError {
	return &apiError{http.StatusConflict, "DiskPathDoesntExistsError",
		fmt.Sprintf("Specified path %q doesn't exists.", sent),
		fmt.Sprintf("Указанного пути %q не существует.", sent), 0}
}

func errDirExists(sent string) *apiError {
	return &apiError{http.StatusConflict, "DiskPathPointsToExistentDirectoryError",
		fmt.Sprintf("Specified path %q points to existent directory.", sent),
		fmt.Sprintf("По указанному пути %q уже существует папка с таким именем.", sent), 0}
}

func errAlreadyExists(sent string) *apiError {
	return &apiError{http.StatusConflict, "DiskResourceAlreadyExistsError",
		fmt.Sprintf("Resource %q already exists.", sent),
		fmt.Sprintf("Ресурс %q уже существует.", sent), 0}
}

func errMD5Differ() *apiError {
	return &apiError{http.StatusConflict, "MD5DifferError", "MD5 checksum of the resource differs from the one given.", "MD5-сумма ресурса не совпадает с указанной.", 0}
}

func errLocked() *apiError {
	return &apiError{http.StatusLocked, "DiskResourceLockedError", "Resource is locked by another operation. Try again later.", "Ресурс заблокирован другой операцией. Повторите попытку позже.", 0}
}

func errQuota() *apiError {
	return &apiError{http.StatusInsufficientStorage, "DiskStorageQuotaExhaustedError", "Insufficient storage.", "Недостаточно свободного места на Диске.", 0}
}

func errFieldValidation(field, reason string) *apiError {
	return &apiError{http.StatusBadRequest, "FieldValidationError",
		fmt.Sprintf("Error validating field %q: %s.", field, reason),
		fmt.Sprintf("Ошибка проверки поля %q: %s.", field, reason), 0}
}

func errTooManyRequests(retryAfter int) *apiError {
	return &apiError{http.StatusTooManyRequests, "TooManyRequestsError", "Too Many Requests", "Слишком много запросов.", retryAfter}
}

func errInternal() *apiError {
	return &apiError{http.StatusInternalServerError, "InternalServerError", "Internal Server Error", "Внутренняя ошибка сервера.", 0}
}

func errUnavailable() *apiError {
	return &apiError{http.StatusServiceUnavailable, "ServiceUnavailableError", "Service Unavailable", "Сервис временно недоступен.", 0}
}

func errNotImplemented(method, path string) *apiError {
	return &apiError{http.StatusNotImplemented, "NotImplementedError",
		fmt.Sprintf("The emulator does not model %s %s.", method, path),
		"Эмулятор не поддерживает этот запрос.", 0}
}

// errorOrder alternates the key order of error bodies: the service sent both
// {message,description,error} and {error,description,message} (§1.5, §9.15), so a client
// that depends on key order fails against the emulator too.
var errorOrder atomic.Uint64

func (e *apiError) body() object {
	if errorOrder.Add(1)%2 == 1 {
		return object{{"message", e.message}, {"description", e.description}, {"error", e.code}}
	}
	return object{{"error", e.code}, {"description", e.description}, {"message", e.message}}
}

// writeAPIError sends e as the API does: application/json without charset (§1.5).
func writeAPIError(w http.ResponseWriter, e *apiError) {
	b := encodeJSON(e.body())
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

// writeOK sends a success body: application/json; charset=utf-8 (§1.5).
func writeOK(w http.ResponseWriter, status int, v any) {
	b := encodeJSON(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeNoContent sends the 204 of §1.5: empty body, still labelled JSON. The service adds
// Content-Length: 0, which net/http removes from a 204.
func writeNoContent(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

// writeHTML sends an nginx-style HTML error, as the download and upload hosts do (§4.2, §9.16).
func writeHTML(w http.ResponseWriter, status int) {
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	b := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b))
}
