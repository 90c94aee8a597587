// A thin typed client of the Dreammaker Crypto API. The types come from the API's own OpenAPI document
// (`npm run generate` writes src/schema.d.ts), so a response model that drifts from the server breaks the
// build of every client that reads it.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };

/** The error envelope every failure of the API answers with. */
export interface ApiErrorBody {
  success: false;
  error: { code: string; message: string; details: Record<string, unknown> };
  timestamp: number;
}

/** A failed call: the envelope's code and message, and how long to wait when the API said (Retry-After). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly retryAfterSeconds: number | null,
  ) {
    super(`${body.error.code}: ${body.error.message}`);
  }
}

/** The typed fetch client of the API at `baseUrl` (e.g. http://localhost:8080). */
export function apiClient(baseUrl: string) {
  return createClient<paths>({ baseUrl, headers: { Accept: "application/json" } });
}

type Client = ReturnType<typeof apiClient>;

function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.data !== undefined) {
    return result.data;
  }
  const retryAfter = result.response.headers.get("Retry-After");
  throw new ApiError(result.response.status, result.error as ApiErrorBody, retryAfter ? Number(retryAfter) : null);
}

type Currency = NonNullable<NonNullable<paths["/api/price/{symbol}"]["get"]["parameters"]["query"]>["convert"]>;

/** The consensus price of a symbol (BTC, BTC/USDT, btcusdt ...), in `convert` (usd). */
export async function price(client: Client, symbol: string, convert: Currency = "usd") {
  return unwrap(await client.GET("/api/price/{symbol}", { params: { path: { symbol }, query: { convert } } }));
}

type Timeframe = paths["/api/ohlcv"]["get"]["parameters"]["query"]["timeframe"];

/** Candles of a pair, oldest first. */
export async function ohlcv(client: Client, symbol: string, timeframe: Timeframe, limit = 100) {
  return unwrap(await client.GET("/api/ohlcv", { params: { query: { symbol, timeframe, limit } } }));
}

/** One ticker update of the websocket's `ticker` channel. */
export interface TickerUpdate {
  channel: "ticker";
  data: { symbol: string; price: number; change_24h: number | null; volume_24h: number | null; timestamp: number;
          exchange: string; seq: number };
}

/** The smallest part of a WebSocket this client needs: the browser's, or the `ws` package's in Node. */
export interface SocketLike {
  send(data: string): void;
  close(): void;
  addEventListener(type: "message", listener: (event: { data: unknown }) => void): void;
  addEventListener(type: "open" | "close" | "error", listener: () => void): void;
}

/** Subscribe to tickers of `symbols` on `socket` (opened on `<base>/ws`); `onUpdate` gets each one. */
export function subscribeTickers(socket: SocketLike, symbols: string[], onUpdate: (update: TickerUpdate) => void) {
  socket.addEventListener("open", () => {
    socket.send(JSON.stringify({ action: "subscribe", channel: "ticker", symbols }));
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    if (message.channel === "ticker" && message.data) {
      onUpdate(message as TickerUpdate);
    }
  });
}
