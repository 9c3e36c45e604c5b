export const handle = async (request, response) => {
  const phoneDigits = String(request.inputs.contact.phone).replace(/\D/g, "");
  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };
  return response;
};
