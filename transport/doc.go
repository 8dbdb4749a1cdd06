// Package transport carries T.38 datagrams between fax endpoints.
package transport
