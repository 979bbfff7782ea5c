// `import x from "../../init/<unit>.service" with { type: "text" }` gives the file's text (Bun).
declare module "*.service" {
  const text: string;
  export default text;
}
