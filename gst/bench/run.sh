#!/usr/bin/env bash
# The GStreamer benchmark: zbsink -> zbsrc against shmsink -> shmsrc in the
# same run (and unixfdsink -> unixfdsrc where GStreamer has them).
#   gst/bench/run.sh [BUILD_DIR] [zbgstbench options: --frames N --repeat R
#                     --ring N --sizes 1080p,4k --sources black,lend,copy]
# The shm baseline needs gstreamer1.0-plugins-bad, which ./dev does not
# install: as root it is installed here, otherwise that baseline is skipped
# (zbgstbench says so).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
	build=$1
	shift
fi
if ! dpkg-query -W -f='${Status}' gstreamer1.0-plugins-bad 2>/dev/null | grep -q 'install ok installed'; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "run.sh: installing gstreamer1.0-plugins-bad for the shmsink baseline" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gstreamer1.0-plugins-bad >/dev/null
	else
		echo "run.sh: gstreamer1.0-plugins-bad is not installed: no shmsink baseline" >&2
	fi
fi
ninja -C "$build" gst/bench/zbgstbench gst/libgstzerobuffer.so zbd/zbd >/dev/null
export GST_PLUGIN_PATH="$PWD/$build/gst"
export GST_REGISTRY="$PWD/$build/gst/bench/registry.bin"
exec "$build/gst/bench/zbgstbench" --zbd "$PWD/$build/zbd/zbd" "$@"
