// The Durable Object holding one shard of the pooled totals. Each object runs single-threaded:
// `add` reads, sums and writes without another call in between, so posts from any number of
// isolates at once lose nothing. Called over Durable Object RPC (`stub.add(delta)`,
// `stub.totals()`) from priors.js.
import { DurableObject } from "cloudflare:workers";
import { validDelta, addInto } from "./priors.js";

export class PriorStore extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sum = {};
    ctx.blockConcurrencyWhile(async () => {
      this.sum = (await ctx.storage.get("totals")) || {};
    });
  }

  /** Adds a validated delta `{slot: {variant: {trials, reward}}}`; throws on a bad one. */
  async add(delta) {
    addInto(this.sum, validDelta(delta));
    await this.ctx.storage.put("totals", this.sum);
  }

  /** The totals of this shard. */
  totals() {
    return this.sum;
  }
}
