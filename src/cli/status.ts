import { defineCommand } from "citty";
import { commonArgs, runCommand, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "status", description: "(not implemented yet)" },
  args: { ...commonArgs },
  async run({ args }) {
    await runCommand(args, {}, () => {
      throw new UserError("pmon status: not implemented yet");
    });
  },
});
