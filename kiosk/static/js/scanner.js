// Scanning the credential card's QR code with the tablet's camera.
//
// Uses the BarcodeDetector API where the browser has it (Chrome on Android and ChromeOS, Safari
// 17+); otherwise decodes frames with the vendored jsQR 1.4.0 (Apache-2.0, "jsqr" in the
// import map: kiosk/static/vendor/jsqr/), loaded only when the camera is first used. Frames
// never leave the tablet.

const SCAN_INTERVAL_MS = 150;

/** True if this browser can open a camera at all (needs a secure context: https or localhost). */
export function cameraAvailable() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

async function makeDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return async (video) => {
          const codes = await detector.detect(video);
          return codes.length ? codes[0].rawValue : null;
        };
      }
    } catch {
      // fall through to jsQR
    }
  }
  await import("jsqr"); // UMD bundle: defines self.jsQR
  const jsQR = window.jsQR;
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (video) => {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return null;
    const scale = Math.min(1, 640 / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const image = context.getImageData(0, 0, canvas.width, canvas.height);
    const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
    return found ? found.data : null;
  };
}

/**
 * Start the camera into `video` and call `onText(text)` once with the first QR code read.
 * Returns {stop()}. Rejects if the camera cannot be opened (permission denied, none present).
 */
export async function startScanner(video, onText) {
  const stream = await navigator.mediaDevices.getUserMedia({
    video: { facingMode: { ideal: "user" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    audio: false,
  });
  let stopped = false;
  let timer = null;
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  try {
    video.srcObject = stream;
    video.setAttribute("playsinline", "");
    video.muted = true;
    await video.play();
    const decode = await makeDecoder();
    const tick = async () => {
      if (stopped) return;
      let text = null;
      try {
        text = await decode(video);
      } catch {
        text = null;
      }
      if (stopped) return;
      if (text) {
        stop();
        onText(text);
        return;
      }
      timer = setTimeout(tick, SCAN_INTERVAL_MS);
    };
    tick();
  } catch (exc) {
    stop();
    throw exc;
  }
  return { stop };
}
