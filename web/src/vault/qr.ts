// The link as a QR code, drawn as SVG from the code's module matrix: no HTML strings, no data URLs, so it
// works under the page's Trusted Types policy.
import qrcode from "qrcode-generator";

/** The dark/light modules of a QR code. */
export interface QrMatrix {
  size: number;
  isDark(row: number, col: number): boolean;
}

/** Encodes `text` (as UTF-8 bytes) at error correction level M, choosing the smallest version that fits. */
export function qrMatrix(text: string): QrMatrix {
  const qr = qrcode(0, "M");
  // The library's byte mode takes one character per byte: hand it the UTF-8 bytes as such characters.
  qr.addData(String.fromCharCode(...new TextEncoder().encode(text)), "Byte");
  qr.make();
  return { size: qr.getModuleCount(), isDark: (r, c) => qr.isDark(r, c) };
}

/**
 * One SVG path for every dark module, a rectangle per horizontal run, offset by the quiet zone `margin`
 * (4 modules, as the standard asks). Returns the view box side and the path data.
 */
export function qrPath(matrix: QrMatrix, margin = 4): { side: number; d: string } {
  const parts: string[] = [];
  for (let r = 0; r < matrix.size; r++) {
    let c = 0;
    while (c < matrix.size) {
      if (!matrix.isDark(r, c)) {
        c++;
        continue;
      }
      const start = c;
      while (c < matrix.size && matrix.isDark(r, c)) c++;
      parts.push(`M${start + margin} ${r + margin}h${c - start}v1h-${c - start}z`);
    }
  }
  return { side: matrix.size + 2 * margin, d: parts.join("") };
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element showing `text` as a QR code, scaled by CSS, crisp at any size. */
export function qrSvg(text: string, label: string): SVGSVGElement {
  const { side, d } = qrPath(qrMatrix(text));
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${side} ${side}`);
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const background = document.createElementNS(SVG, "rect");
  background.setAttribute("width", String(side));
  background.setAttribute("height", String(side));
  background.setAttribute("fill", "#ffffff");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000000");
  svg.append(background, path);
  return svg;
}
