// Price, candles and live tickers from the Dreammaker Crypto API:
//   DM_API_URL=http://localhost:8080 npm run build && npm run example
import WebSocket from "ws";
import { apiClient, ApiError, ohlcv, price, subscribeTickers, type SocketLike } from "../src/index.js";

const base = process.env.DM_API_URL ?? "http://localhost:8080";
const client = apiClient(base);

const btc = await price(client, "BTC");
console.log(`price ${btc.pair} ${btc.price} from ${btc.consensus.sources.filter((s) => s.used).length} sources`);

const candles = await ohlcv(client, "BTC/USDT", "1h", 3);
for (const candle of candles.data) {
  console.log(`candle ${new Date(candle.t).toISOString()} o=${candle.o} c=${candle.c} v=${candle.v}`);
}

const { data: market } = await client.GET("/api/market", { params: { query: { symbols: "BTC,ETH", limit: 10 } } });
console.log(`market ${market?.items.map((item) => item.symbol).join(",")}`);

try {
  await price(client, "NOT-A-COIN");
} catch (error) {
  if (!(error instanceof ApiError)) throw error;
  console.log(`error ${error.status} ${error.body.error.code}`);
}

const socket = new WebSocket(`${base.replace(/^http/, "ws")}/ws`);
const update = await new Promise<string>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("no ticker within 15 s")), 15_000);
  subscribeTickers(socket as unknown as SocketLike, ["BTC/USDT"], (tick) => {
    clearTimeout(timer);
    resolve(`ticker ${tick.data.symbol} ${tick.data.price} seq ${tick.data.seq}`);
  });
});
console.log(update);
socket.close();
