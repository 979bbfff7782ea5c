import { defineCommand } from "citty";
import { commonArgs, runCommand, UserError } from "./_shared.ts";

export default defineCommand({
  meta: { name: "agent", description: "(not implemented yet)" },
  args: { ...commonArgs },
  async run({ args }) {
    await runCommand(args, {}, () => {
      throw new UserError("pmon agent: not implemented yet");
    });
  },
});
