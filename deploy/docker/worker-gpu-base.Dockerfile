# Base image of the GPU worker flavour (Worker.csproj's ContainerBaseImage with -p:OnnxRuntimeFlavor=gpu): NVIDIA's CUDA 13
# runtime with cuDNN 9, which ONNX Runtime's CUDA provider loads (libcudart.so.13, libcublas.so.13, libcublasLt.so.13,
# libcudnn.so.9), plus the ASP.NET Core 10 runtime the framework-dependent worker runs on. Not built on the development
# machines (no container engine, no access to these registries): check the tags against the registries before use.
#   docker build -f deploy/docker/worker-gpu-base.Dockerfile -t aspire-inference/worker-gpu-base:cuda13-cudnn9 .
ARG CUDA_IMAGE=nvcr.io/nvidia/cuda:13.0.0-cudnn-runtime-ubuntu24.04
ARG ASPNET_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble

FROM ${ASPNET_IMAGE} AS aspnet

FROM ${CUDA_IMAGE}
COPY --from=aspnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
    && apt-get update && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1654 app && useradd --uid 1654 --gid 1654 --no-create-home app
# No ICU: the services run with InvariantGlobalization (Directory.Build.props). What the aspnet images set, so the
# SDK's container defaults (port, user) hold on this base too.
ENV APP_UID=1654 \
    ASPNETCORE_HTTP_PORTS=8080 \
    DOTNET_RUNNING_IN_CONTAINER=true \
    DOTNET_ROOT=/usr/share/dotnet
USER 1654
