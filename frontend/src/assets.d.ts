// Vite turns `import url from "…svg?url"` into the built file's URL (the quality page's experiment plots).
declare module "*.svg?url" {
  const url: string;
  export default url;
}
