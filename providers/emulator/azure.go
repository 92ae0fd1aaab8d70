package emulator

import "net/http"

// Confluent on Azure (upstream-apis.md section 2).

type armError struct {
	Error armErrorBody `json:"error"`
}

type armErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeARMError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, armError{Error: armErrorBody{Code: code, Message: msg}})
}

func (s *Server) azureRoutes() []*route { return nil }
