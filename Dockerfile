# syntax=docker/dockerfile:1
# Multi-stage build: a static binary (guides embedded) on a distroless base,
# running as a non-root user. config.yaml is mounted at
# /etc/troubleshooter/config.yaml (see deploy/kubernetes.yaml).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/troubleshooter .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/troubleshooter /usr/local/bin/troubleshooter
COPY config.yaml /etc/troubleshooter/config.yaml
# Only used with store.kind bolt (one replica); replicas share Redis instead.
ENV TROUBLESHOOTER_STORE=/data/troubleshooter.db
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/troubleshooter"]
CMD ["serve", "--config", "/etc/troubleshooter/config.yaml"]
