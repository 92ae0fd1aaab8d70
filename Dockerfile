# syntax=docker/dockerfile:1
# invitesync in a distroless image: the static binary (make build), CA
# certificates and tzdata, no shell, no package manager, running as nonroot
# (uid 65532).
#
#   docker build -t ghcr.io/OWNER/invitesync:v1.2.3 \
#     --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker run --rm ghcr.io/OWNER/invitesync:v1.2.3 version
#
# Credentials are never build arguments: pass them to `docker run -e`/--env-file
# or a Kubernetes Secret at run time.

# The Go version go.mod asks for (any Debian variant: the binary is static).
FROM golang:1.26.8 AS build
WORKDIR /src
# Modules first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# The Makefile's own build target (CGO_ENABLED=0 -trimpath, version ldflags),
# so the image holds exactly what `make build` gives.
ENV CGO_ENABLED=0
RUN make build VERSION="${VERSION}" COMMIT="${COMMIT}" \
 && ./bin/invitesync version

# Pinned by tag. For reproducible images pin the digest as well, e.g.
#   FROM gcr.io/distroless/static-debian12:nonroot@sha256:<digest>
# (the digest of the day: `docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot`),
# and let a bot (Dependabot, Renovate) raise it.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/invitesync /usr/local/bin/invitesync
USER nonroot:nonroot
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/invitesync"]
CMD ["--help"]
